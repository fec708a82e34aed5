"""Trap codes: the one definition both compiled code (which stores the code) and the
loader (which turns it into `aot.Trap`) read.  Messages use the field's usual words,
which are also the spec test suite's."""

from __future__ import annotations

from enum import IntEnum


class TrapCode(IntEnum):
    # 0 means "no trap" in every status word, so codes start at 1.
    STACK_OVERFLOW = 1
    MEMORY_OUT_OF_BOUNDS = 2
    HEAP_MISALIGNED = 3
    TABLE_OUT_OF_BOUNDS = 4
    INDIRECT_CALL_TO_NULL = 5
    BAD_SIGNATURE = 6
    INTEGER_OVERFLOW = 7
    INTEGER_DIVISION_BY_ZERO = 8
    BAD_CONVERSION_TO_INTEGER = 9
    UNREACHABLE_CODE_REACHED = 10
    INTERRUPT = 11
    OUT_OF_FUEL = 12
    UNDEFINED_ELEMENT = 13
    NULL_REFERENCE = 14
    # Not a wasm trap: a host function raised; the loader re-raises the Python exception.
    HOST_EXCEPTION = 15
    # memory.grow or table.grow past a store limit, with `trap_on_grow_failure` set.
    GROW_LIMIT = 16
    # memory.atomic.wait32/64 on a memory that is not shared (no other thread could wake it)
    ATOMIC_WAIT_NON_SHARED_MEMORY = 17

    @property
    def message(self) -> str:
        return TRAP_MESSAGES[self]

    @property
    def wasmtime_name(self) -> str | None:
        """The name of the same trap in wasmtime's `TrapCode` (None: wasmtime has none)."""
        return WASMTIME_NAMES.get(self, self.name)


# Where aot's names differ from wasmtime's.  aot names a trap after the spec's message:
# an out-of-range call_indirect index is "undefined element" in the spec suite (and
# UNDEFINED_ELEMENT here), where wasmtime files it under TABLE_OUT_OF_BOUNDS, the code
# of table.get/set/fill/copy past the end ("out of bounds table access" for both).
WASMTIME_NAMES: dict[TrapCode, str | None] = {
    TrapCode.UNREACHABLE_CODE_REACHED: "UNREACHABLE",
    TrapCode.UNDEFINED_ELEMENT: "TABLE_OUT_OF_BOUNDS",
    TrapCode.HOST_EXCEPTION: None,
    TrapCode.GROW_LIMIT: None,  # an error in wasmtime, with the same message
}

# What the memory.grow and table.grow builtins return when a store limit refuses the grow
# and the store wants a trap rather than -1 (`StoreLimits.trap_on_grow_failure`).
GROW_TRAPS = -2

TRAP_MESSAGES: dict[TrapCode, str] = {
    TrapCode.STACK_OVERFLOW: "call stack exhausted",
    TrapCode.MEMORY_OUT_OF_BOUNDS: "out of bounds memory access",
    TrapCode.HEAP_MISALIGNED: "unaligned atomic",
    TrapCode.TABLE_OUT_OF_BOUNDS: "out of bounds table access",
    TrapCode.INDIRECT_CALL_TO_NULL: "uninitialized element",
    TrapCode.BAD_SIGNATURE: "indirect call type mismatch",
    TrapCode.INTEGER_OVERFLOW: "integer overflow",
    TrapCode.INTEGER_DIVISION_BY_ZERO: "integer divide by zero",
    TrapCode.BAD_CONVERSION_TO_INTEGER: "invalid conversion to integer",
    TrapCode.UNREACHABLE_CODE_REACHED: "unreachable",
    TrapCode.INTERRUPT: "interrupt",
    TrapCode.OUT_OF_FUEL: "all fuel consumed by WebAssembly",
    TrapCode.UNDEFINED_ELEMENT: "undefined element",
    TrapCode.NULL_REFERENCE: "null reference",
    TrapCode.HOST_EXCEPTION: "host function raised an exception",
    TrapCode.GROW_LIMIT: "forcing a memory growth failure to be a trap",
    TrapCode.ATOMIC_WAIT_NON_SHARED_MEMORY: "atomic wait on non-shared memory",
}


# Where a trap happened, as compiled code records it in the store's `trap_offset` word:
# the function index in the high 32 bits, and the offset from the start of that
# function's body plus one in the low 32 (0: unknown).  The DWARF lines of compiled
# code count the same way (offset in the body plus one).  Code never holds an offset
# in the file, so a function compiles to the same object wherever it lies in the
# module: what the per-unit compile cache needs.  The loader adds the body's file
# offset from the artifact's code-offset table (`VTable.CODE_OFFSETS`).

def trap_site(func_index: int, body_offset: int) -> int:
    """The site word for the instruction `body_offset` bytes into function `func_index`."""
    return (func_index << 32) | (body_offset + 1)


def split_trap_site(site: int) -> tuple[int, int] | None:
    """(function index, offset in its body) of a site word; None when unknown."""
    line = site & 0xFFFF_FFFF
    return (site >> 32, line - 1) if line else None
