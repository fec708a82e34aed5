"""The ambient state of a lift or lower (CanonicalABI.md, "Canonical ABI Options",
"Lifting and Lowering Context"): the canonical options, the component instance whose
handle table resources go through, the call's borrow scope; checked access to the
linear memory and the guest's `realloc`; the traps."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from aot.abi.traps import TrapCode
from aot.component.abi_layout import align_to, ptr_size
from aot.errors import CompileError, Trap

if TYPE_CHECKING:
    from aot.component.abi_resources import InstanceState, Subtask, Task

STRING_ENCODINGS = ("utf8", "utf16", "latin1+utf16")


class MemoryLike(Protocol):
    """What the ABI needs of a linear memory: `aot.Memory` has it, and so can a test
    double over a bytearray."""

    @property
    def data_len(self) -> int: ...

    def read(self, offset: int, length: int) -> bytes: ...

    def write(self, offset: int, data: bytes) -> None: ...


Realloc = Callable[[int, int, int, int], int]  # (old_ptr, old_size, align, new_size) -> ptr


@dataclass
class LiftLowerOptions:
    """The canonical options that lifting and lowering values depend on.  `realloc` is
    the guest's allocator, called as realloc(old_ptr, old_size, alignment, new_size) ->
    new_ptr (old 0, 0 for a fresh allocation); `ptr_type` is 'i64' for a 64-bit memory."""

    memory: MemoryLike | None = None
    string_encoding: str = "utf8"
    realloc: Realloc | None = None
    ptr_type: str = "i32"

    def __post_init__(self) -> None:
        if self.string_encoding not in STRING_ENCODINGS:
            raise ValueError(f"string_encoding must be one of {', '.join(STRING_ENCODINGS)}, "
                             f"got {self.string_encoding!r}")
        if self.ptr_type not in ("i32", "i64"):
            raise ValueError(f"ptr_type must be 'i32' or 'i64', got {self.ptr_type!r}")


def trap(message: str, code: TrapCode = TrapCode.UNREACHABLE_CODE_REACHED) -> Trap:
    """The trap for invalid guest data.  TrapCode has no code of its own for the
    canonical ABI's checks; they use UNREACHABLE (the spec's `trap()`) unless a memory
    code fits, and the message says which check failed."""
    return Trap(code, message)


def out_of_bounds(what: str, ptr: int, length: int, memory_len: int) -> Trap:
    return trap(f"out of bounds: {what} at {ptr:#x} of {length} bytes ends past the "
                f"memory's {memory_len} bytes", TrapCode.MEMORY_OUT_OF_BOUNDS)


def misaligned(what: str, ptr: int, alignment: int) -> Trap:
    return trap(f"misaligned pointer: {what} at {ptr:#x} is not {alignment}-byte aligned",
                TrapCode.HEAP_MISALIGNED)


class LiftLowerContext:
    """Everything a lift or lower needs: the options, the component instance (its
    handle table; None when the types hold no handles) and the borrow scope (the `Task`
    of a call into the instance, which lowers borrows; the `Subtask` of a call out of it,
    which lifts borrows; None when the types hold no borrows)."""

    __slots__ = ("opts", "inst", "borrow_scope")

    def __init__(self, opts: LiftLowerOptions, inst: InstanceState | None = None,
                 borrow_scope: Task | Subtask | None = None):
        self.opts = opts
        self.inst = inst
        self.borrow_scope = borrow_scope

    @property
    def ptr_type(self) -> str:
        return self.opts.ptr_type

    @property
    def memory(self) -> MemoryLike:
        memory = self.opts.memory
        if memory is None:
            raise CompileError("these values live in linear memory: the canonical options "
                               "need a `memory`")
        return memory

    def instance(self) -> InstanceState:
        if self.inst is None:
            raise ValueError("resource handles need the component instance's handle table: "
                             "pass an InstanceState to the LiftLowerContext")
        return self.inst

    # --- checked memory access -----------------------------------------------------------

    def check_range(self, what: str, ptr: int, length: int, alignment: int = 1) -> None:
        """Trap unless [ptr, ptr+length) is inside the memory and ptr is aligned."""
        if ptr != align_to(ptr, alignment):
            raise misaligned(what, ptr, alignment)
        memory_len = self.memory.data_len
        if ptr + length > memory_len:
            raise out_of_bounds(what, ptr, length, memory_len)

    def read(self, ptr: int, length: int, what: str = "value") -> bytes:
        self.check_range(what, ptr, length)
        return self.memory.read(ptr, length)

    def write(self, ptr: int, data: bytes | bytearray, what: str = "value") -> None:
        self.check_range(what, ptr, len(data))
        self.memory.write(ptr, data)

    # --- the guest's allocator -----------------------------------------------------------

    def reallocate(self, old: int, old_size: int, alignment: int, new_size: int) -> int:
        """Call the guest's realloc and check what it returns: aligned, and the whole new
        block inside the memory (the spec traps otherwise)."""
        realloc = self.opts.realloc
        if realloc is None:
            raise CompileError("lowering strings, lists or spilled values allocates guest "
                               "memory: the canonical options need a `realloc`")
        ptr = realloc(old, old_size, alignment, new_size)
        if not isinstance(ptr, int):
            raise TypeError(f"realloc returned {type(ptr).__name__}, expected an int")
        # A core i32 result may come back signed: the pointer is its unsigned value.
        ptr &= (1 << (8 * ptr_size(self.ptr_type))) - 1
        self.check_range(f"the block realloc returned for {new_size} bytes", ptr, new_size,
                         alignment)
        return ptr

    def allocate(self, alignment: int, size: int) -> int:
        return self.reallocate(0, 0, alignment, size)


def unsigned(value: Any, bits: int) -> int:
    """A core integer as the spec sees it: unsigned (aot returns i32 results signed)."""
    return value & ((1 << bits) - 1)
