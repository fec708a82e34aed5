"""The shared cache of a build fleet: entries of the local cache (`aot.cache.local`) kept
on a Redis server as well, as sccache and Bazel's remote cache do, so that a module one
machine compiled is a download for the others.

* Same keys as the local cache (content-addressed: the key names the bytes), under
  `aot:artifact:<key>` and `aot:unit:<key>`.  A SET is atomic: readers see the old value
  or the whole new one.
* Nothing fetched is trusted: an artifact must pass its trailer's CRC and carry the
  fingerprint its key was made from, a unit object its SHA-256; an entry that does not
  is refused, deleted and replaced by the compile that follows.
* The size is bounded by the server (`maxmemory` with an `allkeys-lru` policy): eviction
  is Redis' own, aot never lists or prunes the remote.
* The remote is an optimization.  Every request has a short timeout; when one fails (the
  server slow, down or refusing), a warning says so once, the compile goes on with the
  local cache, and the remote is left alone for `RETRY_AFTER` seconds.

redis-py, the Redis project's own client, speaks the protocol (the `redis` extra)."""

from __future__ import annotations

import time
import warnings
from collections import Counter

from aot.errors import AotError

# Seconds: connecting, and waiting for an answer.  A cache hit is worth less than a
# compile stalled behind a server that stopped answering.
CONNECT_TIMEOUT = 0.5
REQUEST_TIMEOUT = 2.0
RETRY_AFTER = 30.0


class CacheWarning(UserWarning):
    """The shared cache could not be used; the compile went on without it."""


class RedisCache:
    """One Redis server (or cluster endpoint) holding cache entries by key."""

    def __init__(self, url: str):
        try:
            import redis
        except ImportError:
            raise AotError(f"the shared cache {url} needs the redis package: "
                           "pip install 'aot[redis]'") from None
        self.url = url
        self._errors = (redis.RedisError, OSError)
        try:
            self._client = redis.Redis.from_url(
                url, socket_connect_timeout=CONNECT_TIMEOUT, socket_timeout=REQUEST_TIMEOUT,
                retry_on_timeout=False)
        except ValueError as exc:
            raise AotError(f"not a Redis URL: {url!r} ({exc})") from None
        self._down_until = 0.0
        self.stats: Counter[str] = Counter()  # hits, misses, puts, refused, errors

    def __reduce__(self):
        # Sent to compile workers as its address: each process opens its own connection.
        return (RedisCache, (self.url,))

    def get(self, kind: str, key: str) -> bytes | None:
        value = self._call(lambda: self._client.get(_name(kind, key)))
        if value is _FAILED:
            return None
        self.stats["hits" if value is not None else "misses"] += 1
        return value

    def put(self, kind: str, key: str, data: bytes) -> None:
        if self._call(lambda: self._client.set(_name(kind, key), data)) is not _FAILED:
            self.stats["puts"] += 1

    def refuse(self, kind: str, key: str, reason: str) -> None:
        """Drop an entry that failed verification (the compile that follows replaces it)."""
        self.stats["refused"] += 1
        warnings.warn(f"the shared cache's {kind} {key[:16]}… is damaged ({reason}); "
                      "refused and compiled again", CacheWarning, stacklevel=3)
        self._call(lambda: self._client.delete(_name(kind, key)))

    def ping(self) -> bool:
        return self._call(self._client.ping) is not _FAILED

    def _call(self, request):
        """The request's answer, or _FAILED when the server cannot give it in time."""
        if time.monotonic() < self._down_until:
            return _FAILED
        try:
            return request()
        except self._errors as exc:
            self.stats["errors"] += 1
            self._down_until = time.monotonic() + RETRY_AFTER
            warnings.warn(f"the shared cache {self.url} is not answering ({exc}); "
                          f"compiling with the local cache only for {RETRY_AFTER:.0f} s",
                          CacheWarning, stacklevel=3)
            return _FAILED


_FAILED = object()


def _name(kind: str, key: str) -> str:
    return f"aot:{kind}:{key}"


def remote_for(url: str | None) -> RedisCache | None:
    """The shared cache at `url` (redis:// or rediss://, unix://), or None for none."""
    if not url:
        return None
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise AotError(f"AOT_CACHE_URL: not supported: a shared cache at {url!r} "
                       "(redis://host:port/db, rediss:// or unix:// are)")
    return RedisCache(url)


__all__ = ["CacheWarning", "RedisCache", "remote_for"]
