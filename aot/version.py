"""aot's version and build id: part of every artifact's fingerprint and cache key.

The build id is a hash of aot's own source files, so an artifact is never reused by a
compiler or loader that differs from the one that built it — even between two commits
with the same version number (what wasmtime's "compiled with incompatible version"
check guards against)."""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

__version__ = "0.1.0"


@cache
def build_id() -> str:
    root = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        h.update(path.relative_to(root).as_posix().encode())
        h.update(b"\0")
        h.update(path.read_bytes())
    return h.hexdigest()[:12]


@cache
def full_version() -> str:
    """The version with the build id: `0.1.0+3f2a9c1d07be`."""
    return f"{__version__}+{build_id()}"
