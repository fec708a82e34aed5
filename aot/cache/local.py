"""The content-addressed artifact cache used by `aot.compile`, on this machine (and, with
$AOT_CACHE_URL, shared through a server: `aot.cache.remote`).

Layout (see cache/README.md):  <root>/<key[:2]>/<key>.so, where key is the SHA-256 of the
wasm bytes and the full fingerprint (aot and LLVM versions, target triple, CPU and its
features, every codegen option), so an entry can only be found by a compiler that would
produce the same bytes.  Root: $AOT_CACHE_DIR, else $XDG_CACHE_HOME/aot, else ~/.cache/aot.

* Writes are atomic: a private temp file in the same directory, then rename.
* Concurrent compiles of one key are serialized by an flock on <key>.lock, so eight
  processes compiling the same module leave one entry and compile it once.
* A hit is verified (trailer, CRC, fingerprint) by the loader; a damaged entry is
  discarded and rebuilt.
* Entries are touched on use; `prune(max_bytes)` removes the least recently used first.
  With $AOT_CACHE_MAX_SIZE set (bytes, or with K/M/G), every insert prunes to it.

Beside the artifacts, the same folders hold the per-unit compile cache
(`aot.codegen.unitcache`): <key>.o, the object file of one codegen unit, keyed by the
fingerprint and the unit's inputs (or its LLVM IR, when the module's bytes are not at
hand), followed by its SHA-256 (a damaged object must never be linked); <key>.seen, the
mark left for a module environment compiled here (or by a machine sharing the cache),
holding what was learnt of its function bodies (`Cache.put_mark`,
`unitcache.facts_record`), followed by its SHA-256.  They are
entries like the others: listed, pruned and cleared with them.

With a shared cache, a local miss asks the server before compiling; what is fetched is
verified (CRC and fingerprint, or SHA-256) and kept locally; what is compiled is stored
in both.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from aot.abi.fingerprint import (
    Fingerprint,
    TrailerError,
    mark_verified,
    read_trailer,
    trailer_crc,
)
from aot.cache.remote import RedisCache, remote_for


def default_root() -> Path:
    env = os.environ.get("AOT_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "aot"


def parse_size(text: str) -> int:
    """'500M' -> 524288000; plain numbers are bytes."""
    text = text.strip().upper().removesuffix("B")
    scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(text[-1:], 1)
    number = text[:-1] if scale != 1 else text
    try:
        value = int(float(number) * scale)
    except ValueError:
        raise ValueError(f"not a size: {text!r} (use bytes, or a number with K, M or G)") from None
    if value < 0:
        raise ValueError("a size cannot be negative")
    return value


def cache_key(wasm: bytes, fingerprint: Fingerprint) -> str:
    h = hashlib.sha256()
    h.update(fingerprint.to_json())
    h.update(b"\0")
    h.update(wasm)
    return h.hexdigest()


@dataclass(frozen=True)
class Entry:
    key: str
    path: Path
    size: int
    last_used: float

    @property
    def kind(self) -> str:
        """"artifact" (a whole module's .so), "unit" (one codegen unit's object) or
        "mark" (a module environment compiled here before, and what was learnt of its
        function bodies: `Cache.put_mark`)."""
        return {UNIT_SUFFIX: "unit", MARK_SUFFIX: "mark"}.get(self.path.suffix, "artifact")


UNIT_SUFFIX = ".o"
MARK_SUFFIX = ".seen"
_DIGEST = 32  # SHA-256 after each unit object


class Cache:
    """The cache in `root` (default: `default_root()`), and the shared one at `remote`
    (a URL or a `RedisCache`; True: $AOT_CACHE_URL when set; None: none)."""

    def __init__(self, root: str | os.PathLike | None = None,
                 remote: str | RedisCache | bool | None = True):
        self.root = Path(root) if root is not None else default_root()
        if remote is True:
            remote = os.environ.get("AOT_CACHE_URL")
        self.remote = remote if isinstance(remote, RedisCache) else remote_for(remote or None)
        self.stats: Counter[str] = Counter()  # hits (local), remote_hits, builds

    def __reduce__(self):
        # Compile workers get the same cache: the folder and the server's address.
        return (Cache, (self.root, self.remote))

    def path_for(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.so"

    def get_or_create(self, key: str, build: Callable[[], bytes],
                      load: Callable[[Path], object], is_damage: Callable[[Exception], bool],
                      fingerprint: Fingerprint | None = None):
        """Load the entry for `key`, building it first if it is missing or damaged.
        `fingerprint`, the one the key was made from, is what an artifact fetched from
        the shared cache must carry."""
        path = self.path_for(key)
        result = _load_intact(path, load, is_damage)
        if result is not None:
            _touch(path)
            self.stats["hits"] += 1
            return result
        path.parent.mkdir(parents=True, exist_ok=True)
        with _locked(path.with_suffix(".lock")):
            # Another process may have built it while we waited for the lock.
            result = _load_intact(path, load, is_damage)
            if result is not None:
                self.stats["hits"] += 1
                return result
            path.unlink(missing_ok=True)  # damaged (or absent): discard and rebuild
            fetched = self._fetch_artifact(key, fingerprint)
            if fetched is not None:
                write_atomic(path, fetched, artifact=True)  # verified by the fetch
                self.stats["remote_hits"] += 1
            else:
                data = build()
                self.stats["builds"] += 1
                write_atomic(path, data, artifact=True)
                if self.remote is not None:
                    self.remote.put("artifact", key, data)
        self.auto_prune()
        return load(path)

    def _fetch_artifact(self, key: str, fingerprint: Fingerprint | None) -> bytes | None:
        data = self.remote.get("artifact", key) if self.remote is not None else None
        if data is None:
            return None
        try:
            _, carried = read_trailer(data)
            if fingerprint is not None and carried != fingerprint:
                raise TrailerError("it was compiled for another fingerprint than its key's")
        except TrailerError as exc:
            self.remote.refuse("artifact", key, str(exc))
            return None
        return data

    # --- codegen units (aot.codegen.unitcache) -------------------------------------------

    def unit_path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}{UNIT_SUFFIX}"

    def get_unit(self, key: str) -> bytes | None:
        """The object stored for `key` here or in the shared cache, or None when absent
        or damaged (then removed)."""
        return self._get_sealed("unit", self.unit_path(key), key)

    def put_unit(self, key: str, obj: bytes) -> None:
        """Store a unit's object; concurrent writers of one key write the same bytes, and
        the rename is atomic, so no lock is needed."""
        self._put_sealed("unit", self.unit_path(key), key, obj)

    def _get_sealed(self, kind: str, path: Path, key: str) -> bytes | None:
        """What `_put_sealed` stored at `path`, or else in the shared cache (kept here
        once its SHA-256 matches); None when absent or damaged (then removed)."""
        try:
            content = _unsealed(path.read_bytes())
        except OSError:
            content = None
        else:
            if content is None:
                with contextlib.suppress(OSError):
                    path.unlink()
        if content is not None:
            _touch(path)
            return content
        data = self.remote.get(kind, key) if self.remote is not None else None
        if data is None:
            return None
        content = _unsealed(data)
        if content is None:
            self.remote.refuse(kind, key, "its SHA-256 does not match")
            return None
        self._write_sealed(path, data)
        return content

    def _put_sealed(self, kind: str, path: Path, key: str, content: bytes) -> None:
        """Store `content` followed by its SHA-256 (a damaged entry must never be used)
        at `path`, and in the shared cache."""
        data = content + hashlib.sha256(content).digest()
        self._write_sealed(path, data)
        if self.remote is not None:
            self.remote.put(kind, key, data)

    @staticmethod
    def _write_sealed(path: Path, data: bytes) -> None:
        # A cache that cannot be written (a read-only folder, a full disk) is skipped:
        # it is an optimization.
        with contextlib.suppress(OSError):
            path.parent.mkdir(parents=True, exist_ok=True)
            # No fsync: a compile of a unit per function writes a thousand of these, and
            # a unit or mark damaged by a crash fails its SHA-256 and is made again.
            write_atomic(path, data, sync=False)

    # --- marks: what a compile here left for the next compile of a module like it ---------

    def mark_path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}{MARK_SUFFIX}"

    def put_mark(self, key: str, content: bytes) -> None:
        """Leave mark `key` holding `content`, stored as a unit's object is, here and in
        the shared cache (whose units a rebuild on another machine finds as this
        one's)."""
        self._put_sealed("mark", self.mark_path(key), key, content)

    def get_mark(self, key: str) -> bytes | None:
        """The content of mark `key` here or in the shared cache, or None when absent or
        damaged (then removed)."""
        return self._get_sealed("mark", self.mark_path(key), key)

    # --- maintenance (aot cache ls | info | clear | prune) --------------------------------

    def entries(self) -> Iterator[Entry]:
        if not self.root.is_dir():
            return
        for sub in sorted(self.root.iterdir()):
            if sub.is_dir() and len(sub.name) == 2:
                for f in sorted((*sub.glob("*.so"), *sub.glob(f"*{UNIT_SUFFIX}"),
                                 *sub.glob(f"*{MARK_SUFFIX}"))):
                    try:
                        st = f.stat()
                    except FileNotFoundError:
                        continue
                    yield Entry(f.stem, f, st.st_size, max(st.st_atime, st.st_mtime))

    def total_size(self) -> int:
        return sum(e.size for e in self.entries())

    def clear(self) -> int:
        n = 0
        for e in self.entries():
            e.path.unlink(missing_ok=True)
            e.path.with_suffix(".lock").unlink(missing_ok=True)
            n += 1
        return n

    def prune(self, max_bytes: int) -> list[Entry]:
        """Delete least recently used entries until the cache holds at most `max_bytes`."""
        entries = sorted(self.entries(), key=lambda e: e.last_used)
        total = sum(e.size for e in entries)
        removed = []
        for e in entries:
            if total <= max_bytes:
                break
            e.path.unlink(missing_ok=True)
            e.path.with_suffix(".lock").unlink(missing_ok=True)
            total -= e.size
            removed.append(e)
        return removed

    def auto_prune(self) -> None:
        """Prune to $AOT_CACHE_MAX_SIZE, when it is set."""
        limit = os.environ.get("AOT_CACHE_MAX_SIZE")
        if limit:
            self.prune(parse_size(limit))


def _unsealed(data: bytes) -> bytes | None:
    """A stored unit's object (or mark's content), or None when its SHA-256 does not
    match."""
    obj, digest = data[:-_DIGEST], data[-_DIGEST:]
    if len(data) <= _DIGEST or hashlib.sha256(obj).digest() != digest:
        return None
    return obj


def _load_intact(path: Path, load: Callable[[Path], object], is_damage: Callable[[Exception], bool]):
    """The loaded entry, or None when it is missing or damaged; other errors propagate."""
    if not path.exists():
        return None
    try:
        return load(path)
    except Exception as exc:
        if not is_damage(exc):
            raise
        return None


def write_atomic(path: Path, data: bytes, *, artifact: bool = False, sync: bool = True) -> None:
    """Write a file so that readers see the old one or the whole new one, never a part.
    An `artifact` (bytes aot just made, trailer included) is marked verified, so that
    loading it skips the checksum pass (`aot.abi.fingerprint`).  `sync=False` skips the
    fsync, for entries whose own checksum catches what a crash could leave."""
    fd, tmp = tempfile.mkstemp(dir=path.parent.resolve(), prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            if sync:
                os.fsync(f.fileno())
            os.fchmod(f.fileno(), 0o755)
            os.replace(tmp, path)
            if artifact:  # last: the mark is void once anything changes the inode after it
                mark_verified(f.fileno(), trailer_crc(data))
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _touch(path: Path) -> None:
    """Mark an entry used: its access time orders pruning.  The modification time stays,
    so the entry's verification mark stays valid."""
    with contextlib.suppress(OSError):  # a read-only cache still serves hits
        os.utime(path, ns=(time.time_ns(), os.stat(path).st_mtime_ns))


class _locked:
    def __init__(self, path: Path):
        self.path = path

    def __enter__(self):
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc) -> None:
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)
