"""Linear memory: a reserved range of address space whose accessible prefix grows.

The whole maximum is reserved up front (PROT_NONE, no swap reserved), so growing is an
mprotect and the base address never moves: compiled code and zero-copy buffers handed
to Python stay valid across `memory.grow`."""

from __future__ import annotations

import contextlib
import threading
import weakref

from aot.abi.vmctx import MEMORY_RESERVATION
from aot.errors import AotError
from aot.loader import memory_pool
from aot.loader.ffi import PROT_READ, PROT_WRITE, ffi, libc
from aot.loader.limits import ResourceLimitError, memory_may_grow
from aot.loader.memory_pool import MemoryImage
from aot.wasm.types import PAGE_SIZE, Limits, MemoryType

_DEF = ffi.typeof("VMMemoryDefinition *")
MAX_PAGES_RESERVED = (MEMORY_RESERVATION - PAGE_SIZE) // PAGE_SIZE  # 8 GiB: 131072 pages
min_ = min  # `min` is a keyword parameter of Memory()


class Memory:
    """A WebAssembly linear memory.  Create one to pass as an import, or get an
    instance's from its exports."""

    def __init__(self, type: MemoryType | None = None, *, min: int = 1, max: int | None = None,
                 is64: bool = False, shared: bool = False, _image: MemoryImage | None = None):
        if type is None:
            type = MemoryType(Limits(min, max), is64, shared)
        limits = type.limits
        if type.shared and limits.max is None:
            raise ValueError("shared memory must have maximum")
        bound = type.max_pages
        if limits.min > bound or (limits.max is not None and limits.max > bound):
            raise ValueError("memory size must be at most 65536 pages (4 GiB)" if not type.is64
                             else "memory size must be at most 2^48 pages")
        if limits.max is not None and limits.min > limits.max:
            raise ValueError("size minimum must not be greater than maximum")
        # A 64-bit memory lives in the same reservation as a 32-bit one, so it grows to
        # 8 GiB at most (a grow past that returns -1, which the spec allows any grow).
        if limits.min > MAX_PAGES_RESERVED:
            raise ResourceLimitError(
                f"cannot create a memory of {limits.min} pages: aot reserves at most "
                f"{MAX_PAGES_RESERVED} pages ({MAX_PAGES_RESERVED * PAGE_SIZE >> 30} GiB) per memory")
        self.type = type
        self._max_pages = min_(MAX_PAGES_RESERVED, bound if limits.max is None else limits.max)
        # The whole guard-mode range is reserved, whatever the maximum: code compiled
        # without bounds checks may touch any address up to it, and must fault past the
        # length.  Memory 0 of an artifact with an image starts as that image, mapped
        # copy-on-write (the compiler makes one only when it fits the initial size).
        length = limits.min * PAGE_SIZE
        base = memory_pool.acquire(length, _image)
        if base is None:
            raise MemoryError(f"cannot allocate {limits.min} pages of memory")
        self._base = base  # given back by __del__
        self._image = _image
        self._high = length  # bytes ever accessible: what __del__ hands back
        self._def = ffi.new(_DEF)
        self._def.base = base
        self._def.length = length
        self._owner = None  # weakref to the store whose instance defines this memory
        # A shared memory may be grown by wasm on several threads at once: the check of
        # the maximum and the commit must not interleave (the GIL is released in mprotect).
        self._grow_lock = threading.Lock() if type.shared else contextlib.nullcontext()

    def _bind_owner(self, store) -> None:
        # A grow from Python answers to the same limits as a memory.grow from wasm.
        self._owner = weakref.ref(store)

    def __del__(self) -> None:
        base = getattr(self, "_base", None)
        if base is not None:
            memory_pool.release(base, self._high, self._image)

    def _commit(self, new_length: int) -> bool:
        if new_length > self._high:
            if libc.mprotect(self._def.base, new_length, PROT_READ | PROT_WRITE) != 0:
                return False
            self._high = new_length
        self._def.length = new_length
        return True

    # --- what wasm sees ------------------------------------------------------------------

    def grow_pages(self, delta: int) -> int:
        """memory.grow: the old size in pages, or -1 when the memory cannot grow."""
        with self._grow_lock:
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
        store = self._owner() if self._owner is not None else None
        if delta and store is not None and not memory_may_grow(store, self, delta):
            raise ResourceLimitError(f"cannot grow memory from {self.size} by {delta} pages: "
                                     f"the store's limits refuse it ({store.limits})")
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
        kind = ("shared " if self.type.shared else "") + ("64-bit " if self.type.is64 else "")
        return f"<aot.Memory {kind}{self.size} pages, max {self._max_pages}>"
