"""aot's version and build id: part of every artifact's fingerprint and cache key.

The build id is a hash of aot's own source files, so an artifact is never reused by a
compiler or loader that differs from the one that built it — even between two commits
with the same version number (what wasmtime's "compiled with incompatible version"
check guards against)."""

from __future__ import annotations

import os
from functools import cache

try:  # built into CPython: hashlib would load OpenSSL, milliseconds a process pays
    from _blake2 import blake2b
except ImportError:  # pragma: no cover - other interpreters
    from hashlib import blake2b

__version__ = "0.1.0"


@cache
def build_id() -> str:
    """A hash of every source file of the package (the first load of a process pays it:
    a few milliseconds)."""
    root = os.path.dirname(os.path.abspath(__file__))
    h = blake2b(digest_size=16)
    for rel in sorted(_sources(root, "")):
        h.update(rel.encode())
        h.update(b"\0")
        with open(os.path.join(root, rel), "rb") as f:
            h.update(f.read())
    return h.hexdigest()[:12]


def _sources(root: str, rel: str) -> list[str]:
    out = []
    with os.scandir(os.path.join(root, rel)) as entries:
        for e in entries:
            if e.is_dir(follow_symlinks=False) and e.name != "__pycache__":
                out += _sources(root, f"{rel}{e.name}/")
            elif e.name.endswith(".py"):
                out.append(rel + e.name)
    return out


@cache
def full_version() -> str:
    """The version with the build id: `0.1.0+3f2a9c1d07be`."""
    return f"{__version__}+{build_id()}"
