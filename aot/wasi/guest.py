"""The guest's linear memory as WASI calls see it: bounds-checked reads and writes of
records, strings and iovec lists, all failing with EFAULT outside the memory."""

from __future__ import annotations

import struct

from aot.errors import AotError
from aot.wasi.errno import Errno, WasiError
from aot.wasi.layout import IOVEC

_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")


class GuestMemory:
    """Wraps the instance's exported "memory".  The zero-copy view is taken again only
    when the memory's length changed (its base never moves, so nothing else can)."""

    def __init__(self, memory=None):
        self._memory = memory
        self._length = -1
        self._view = memoryview(b"")

    def view(self) -> memoryview:
        memory = self._memory
        if memory is None:
            raise AotError("a WASI function needs the module's memory, but the module does not "
                           "export a memory named 'memory' (or the WASI context was not bound "
                           "to the instance: use WasiCtx.instantiate or WasiCtx.bind)")
        length = memory.data_len
        if length != self._length:
            self._view = memory.buffer
            self._length = length
        return self._view

    def span(self, ptr: int, length: int) -> memoryview:
        """A writable view of guest bytes [ptr, ptr + length)."""
        view = self.view()
        end = ptr + length
        if end > len(view):
            raise WasiError(Errno.FAULT)
        return view[ptr:end]

    def read(self, ptr: int, length: int) -> bytes:
        return bytes(self.span(ptr, length))

    def write(self, ptr: int, data: bytes) -> None:
        self.span(ptr, len(data))[:] = data

    def pack(self, ptr: int, fmt: struct.Struct, *values) -> None:
        fmt.pack_into(self.span(ptr, fmt.size), 0, *values)

    def unpack(self, ptr: int, fmt: struct.Struct) -> tuple:
        return fmt.unpack_from(self.span(ptr, fmt.size))

    def u32(self, ptr: int, value: int) -> None:
        self.pack(ptr, _U32, value)

    def u64(self, ptr: int, value: int) -> None:
        self.pack(ptr, _U64, value)

    def path(self, ptr: int, length: int) -> bytes:
        """A path argument: its bytes; a NUL inside cannot name any file."""
        data = self.read(ptr, length)
        if b"\0" in data:
            raise WasiError(Errno.INVAL)
        return data

    def iovecs(self, ptr: int, count: int) -> list[memoryview]:
        """The buffers of an iovec/ciovec array, as writable views of guest memory."""
        table = self.span(ptr, count * IOVEC.size)
        return [self.span(buf, n) for buf, n in IOVEC.iter_unpack(table)]
