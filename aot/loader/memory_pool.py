"""The address space of linear memories, reused (a small form of wasmtime's pooling).

A memory is a reservation of `MEMORY_RESERVATION` bytes, inaccessible past its length.
Creating and tearing down such a mapping costs several system calls, and making pages
accessible another; a memory that goes hands its reservation back here instead:

- `MemoryImage.pool`: reservations that still hold one artifact's memory image.
  `madvise(MADV_DONTNEED)` drops every page the memory wrote, so the next instance of
  that module sees the image again (copy-on-write from the file) and zeros past it:
  nothing is mapped or protected anew.
- `_FREE`: reservations of plain zero pages, by how many bytes are accessible, so that
  a memory of the same size needs no system call at all.

A reservation in a pool keeps pages accessible (`accessible` bytes), never contents."""

from __future__ import annotations

from aot.abi.vmctx import MEMORY_RESERVATION
from aot.loader.ffi import (
    MADV_DONTNEED,
    MAP_ANONYMOUS,
    MAP_FAILED,
    MAP_FIXED,
    MAP_NORESERVE,
    MAP_PRIVATE,
    PROT_NONE,
    PROT_READ,
    PROT_WRITE,
    ffi,
    libc,
)

_RESERVE_FLAGS = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE
_RW = PROT_READ | PROT_WRITE
# Reservations kept, all pools together (512 GiB of address space, no memory): instances
# caught in reference cycles come back in batches, one per run of the cycle collector.
_POOL_MAX = 64

# accessible bytes -> bases of reservations whose first that many bytes are zero pages
_FREE: dict[int, list] = {}
_pooled = 0  # reservations in `_FREE` and in every image's pool


class MemoryImage:
    """An artifact's initial memory contents, in its file: mapped copy-on-write into
    each instance's memory 0, never copied.  Sparse: `runs` are (offset in memory,
    offset in the file, length), page-aligned; the pages between them are zeros.
    Owned by the artifact, which closes it (and the descriptor) when it goes."""

    __slots__ = ("fd", "runs", "extent", "pool")

    def __init__(self, fd: int, runs: tuple[tuple[int, int, int], ...]):
        self.fd = fd
        self.runs = runs
        self.extent = max((m + n for m, _, n in runs), default=0)  # bytes it spans
        self.pool: list[tuple[object, int]] | None = []  # (base, accessible); None: closed

    def close(self) -> None:
        """The artifact goes: its pooled reservations become plain ones."""
        global _pooled
        pool, self.pool = self.pool, None
        if libc is None:  # interpreter shutdown: the process unmaps everything anyway
            return
        for base, accessible in pool or ():
            _pooled -= 1
            # Fresh zero pages over the image: the file is no longer the memory's.
            if libc.mmap(base, accessible, _RW, _RESERVE_FLAGS | MAP_FIXED, -1, 0) == MAP_FAILED:
                libc.munmap(base, MEMORY_RESERVATION)
            else:
                _put_free(base, accessible)


def acquire(length: int, image: MemoryImage | None):
    """A reservation whose first `length` bytes are accessible and hold `image` (zeros
    past it, or zeros throughout), inaccessible past `length`; None if there is no
    address space left."""
    global _pooled
    base = None
    if image is not None and image.pool:
        try:
            base, accessible = image.pool.pop()
            _pooled -= 1
        except IndexError:  # taken by another thread meanwhile
            pass
    if base is None:
        base, accessible = _take_free(length)
        if base is None:
            return None
        if image is not None:
            if accessible < image.extent and libc.mprotect(base, image.extent, _RW) != 0:
                libc.munmap(base, MEMORY_RESERVATION)
                return None
            for mem_offset, file_offset, n in image.runs:
                if libc.mmap(base + mem_offset, n, _RW, MAP_PRIVATE | MAP_FIXED, image.fd,
                             file_offset) == MAP_FAILED:
                    libc.munmap(base, MEMORY_RESERVATION)
                    return None
            accessible = max(accessible, image.extent)
    if accessible < length:
        if libc.mprotect(base, length, _RW) != 0:
            release(base, accessible, image)
            return None
    elif accessible > length:
        # Zero pages already: only their protection changes (guard-mode code must fault).
        libc.mprotect(base + length, accessible - length, PROT_NONE)
    return base


def release(base, accessible: int, image: MemoryImage | None) -> None:
    """Hand back a reservation whose first `accessible` bytes are accessible (the most a
    memory ever had) and hold what wasm left there."""
    global _pooled
    if libc is None:  # interpreter shutdown: the process unmaps everything anyway
        return
    if _pooled >= _POOL_MAX:
        libc.munmap(base, MEMORY_RESERVATION)
        return
    if image is not None and image.pool is not None:
        # Written pages of the image go back to the file's, the others to zeros.
        if libc.madvise(base, accessible, MADV_DONTNEED) == 0:
            image.pool.append((base, accessible))
            _pooled += 1
            return
    if image is not None:
        # Replace the image's file pages by zero pages (and wipe the rest).
        ok = libc.mmap(base, accessible, _RW, _RESERVE_FLAGS | MAP_FIXED, -1, 0) != MAP_FAILED
    else:
        ok = not accessible or libc.madvise(base, accessible, MADV_DONTNEED) == 0
    if ok:
        _put_free(base, accessible)
    else:
        libc.munmap(base, MEMORY_RESERVATION)


def _take_free(length: int):
    """A plain reservation, best with exactly `length` bytes accessible: (base,
    accessible), or (None, 0) when address space is exhausted."""
    global _pooled
    accessible = length if _FREE.get(length) else next((a for a, v in _FREE.items() if v), None)
    if accessible is not None:
        try:
            base = _FREE[accessible].pop()
        except IndexError:  # taken by another thread meanwhile
            pass
        else:
            _pooled -= 1
            return base, accessible
    base = libc.mmap(ffi.NULL, MEMORY_RESERVATION, PROT_NONE, _RESERVE_FLAGS, -1, 0)
    if base == MAP_FAILED:
        return None, 0
    return base, 0


def _put_free(base, accessible: int) -> None:
    global _pooled
    if _pooled >= _POOL_MAX:
        libc.munmap(base, MEMORY_RESERVATION)
        return
    _FREE.setdefault(accessible, []).append(base)
    _pooled += 1
