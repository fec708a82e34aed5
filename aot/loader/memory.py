"""Linear memory: a reserved range of address space whose accessible prefix grows.

The whole maximum is reserved up front (PROT_NONE, no swap reserved), so growing is an
mprotect and the base address never moves: compiled code and zero-copy buffers handed
to Python stay valid across `memory.grow`."""

from __future__ import annotations

import builtins  # the constructor's min/max keywords shadow the builtins

from aot.abi.vmctx import MEMORY_RESERVATION
from aot.errors import AotError
from aot.loader.ffi import (
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
from aot.wasm.types import MAX_PAGES, PAGE_SIZE, Limits, MemoryType

_DEF = ffi.typeof("VMMemoryDefinition *")

# Reservations of memories that are gone, wiped back to untouched inaccessible address
# space, for the next memories (a small form of wasmtime's pooling): creating and tearing
# down an 8 GiB mapping per instance costs more than wiping the few pages one used.
_POOL: list = []
_POOL_MAX = 16
_RESERVE_FLAGS = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE


def _reserve():
    try:
        return _POOL.pop()
    except IndexError:
        pass
    base = libc.mmap(ffi.NULL, MEMORY_RESERVATION, PROT_NONE, _RESERVE_FLAGS, -1, 0)
    if base == MAP_FAILED:
        raise MemoryError(f"cannot reserve {MEMORY_RESERVATION} bytes of address space for a memory")
    return base


def _release(base, used: int) -> None:
    # Fresh pages over everything the memory made accessible (its image included): the
    # next memory sees zeros and faults past its own length, nothing of this one.
    if len(_POOL) < _POOL_MAX and (
            used == 0 or libc.mmap(base, used, PROT_NONE, _RESERVE_FLAGS | MAP_FIXED, -1, 0)
            != MAP_FAILED):
        _POOL.append(base)
    else:
        libc.munmap(base, MEMORY_RESERVATION)


class Memory:
    """A WebAssembly linear memory.  Create one to pass as an import, or get an
    instance's from its exports."""

    def __init__(self, type: MemoryType | None = None, *, min: int = 1, max: int | None = None,
                 _image: tuple[int, int, int] | None = None):
        if type is None:
            type = MemoryType(Limits(min, max))
        limits = type.limits
        if limits.min > MAX_PAGES or (limits.max is not None and limits.max > MAX_PAGES):
            raise ValueError("memory size must be at most 65536 pages (4 GiB)")
        if limits.max is not None and limits.min > limits.max:
            raise ValueError("size minimum must not be greater than maximum")
        self.type = type
        self._max_pages = MAX_PAGES if limits.max is None else limits.max
        # The whole guard-mode range, whatever the maximum: code compiled without bounds
        # checks may touch any address up to it, and must fault past the length.
        self._reserved = MEMORY_RESERVATION
        base = _reserve()
        self._base = base  # given back by __del__
        self._high = 0  # bytes ever made accessible: what __del__ must wipe
        self._def = ffi.new(_DEF)
        self._def.base = base
        self._def.length = 0
        self._image = None
        if _image is not None:
            # The initial contents, mapped copy-on-write from the artifact file: no copy,
            # and no page is touched until wasm uses it.  Fits in the initial size (the
            # compiler only makes an image when it does).
            fd, offset, length = _image
            if libc.mmap(base, length, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_FIXED, fd, offset) == MAP_FAILED:
                raise MemoryError("cannot map the memory image")
            self._image = _image  # its descriptor must outlive the mapping's setup only
        if limits.min and not self._commit(limits.min * PAGE_SIZE):
            raise MemoryError(f"cannot allocate {limits.min} pages of memory")

    def __del__(self) -> None:
        base = getattr(self, "_base", None)
        if base is not None:
            _release(base, self._high)

    def _commit(self, new_length: int) -> bool:
        if libc.mprotect(self._def.base, new_length, PROT_READ | PROT_WRITE) != 0:
            return False
        self._def.length = new_length
        self._high = builtins.max(self._high, new_length)
        return True

    # --- what wasm sees ------------------------------------------------------------------

    def grow_pages(self, delta: int) -> int:
        """memory.grow: the old size in pages, or -1 when the memory cannot grow."""
        old = self._def.length // PAGE_SIZE
        new = old + delta
        if new > self._max_pages:
            return -1
        if delta and not self._commit(new * PAGE_SIZE):
            return -1
        return old

    # --- the Python API ------------------------------------------------------------------

    @property
    def size(self) -> int:
        """Current size in 64 KiB pages."""
        return self._def.length // PAGE_SIZE

    @property
    def data_len(self) -> int:
        """Current size in bytes."""
        return self._def.length

    def grow(self, delta: int) -> int:
        """Grow by `delta` pages; return the previous size in pages."""
        if delta < 0:
            raise ValueError("cannot grow a memory by a negative number of pages")
        old = self.grow_pages(delta)
        if old < 0:
            raise AotError(f"cannot grow memory from {self.size} by {delta} pages "
                           f"(maximum {self._max_pages})")
        return old

    def _check(self, offset: int, length: int) -> None:
        if offset < 0 or length < 0 or offset + length > self._def.length:
            raise IndexError(f"out of bounds memory access: [{offset}, {offset + length}) "
                             f"in a memory of {self._def.length} bytes")

    def read(self, offset: int, length: int) -> bytes:
        self._check(offset, length)
        return ffi.unpack(ffi.cast("char *", self._def.base + offset), length)

    def write(self, offset: int, data: bytes | bytearray | memoryview) -> None:
        data = memoryview(data).cast("B")
        self._check(offset, len(data))
        ffi.memmove(self._def.base + offset, data, len(data))

    @property
    def buffer(self) -> memoryview:
        """A zero-copy view of the current contents (take a new one after growing)."""
        return memoryview(ffi.buffer(self._def.base, self._def.length))

    def __repr__(self) -> str:
        return f"<aot.Memory {self.size} pages, max {self._max_pages}>"
