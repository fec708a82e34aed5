"""Compiled artifacts and codegen units kept by content: on this machine
(`aot.cache.local`) and, for a build fleet, on a shared server (`aot.cache.remote`)."""

from aot.cache.local import (
    UNIT_SUFFIX,
    Cache,
    Entry,
    cache_key,
    default_root,
    parse_size,
    write_atomic,
)
from aot.cache.remote import CacheWarning, RedisCache

__all__ = ["UNIT_SUFFIX", "Cache", "CacheWarning", "Entry", "RedisCache", "cache_key",
           "default_root", "parse_size", "write_atomic"]
