"""Calling conventions between compiled code, trampolines and the loader.

**wasm-call** (every function that can escape the module: exported, in a table,
`ref.func`-referenced, or imported)::

    R0 f(void *callee_vmctx, void *caller_vmctx, P0, P1, ..., ValRaw *ret_area)

The first result comes back in the return register; results 2..N are written to
`ret_area[0..N-2]` (16-byte slots).  `ret_area` is passed only when there are 2 or more
results.  Its LLVM calling convention is `tailcc` (`WASM_CALL_CONV`): a wasm tail call
(`return_call_indirect`, or `return_call` of an import) through a VMFuncRef is then a
real tail call whatever module the callee comes from.  Functions that cannot escape use
LLVM `fastcc` (`tailcc` in a module that makes tail calls) and return an LLVM struct.

**array entry** (host -> wasm, one trampoline per signature, compiled into the artifact)::

    uint32_t entry(VMFuncRef *callee, ValRaw *values)

Parameters are read from `values[0..P-1]`, results written to `values[0..R-1]`; the
buffer holds `max(P, R, 1)` slots.  Returns 0, or the `TrapCode` that ended the call.
The trampoline arms the trap landing point and sets the store's stack limit.

**host call** (wasm -> host): an imported host function's VMFuncRef points at a
per-signature trampoline with the wasm-call ABI whose callee vmctx is a VMHostContext;
it spills the arguments into a ValRaw buffer (same layout as the array entry) and calls
`int callback(VMHostContext *, void *caller_vmctx, ValRaw *values, uint32_t count)`,
which returns 0, or non-zero when the host function raised (the trampoline then traps
with `TrapCode.HOST_EXCEPTION` and the loader re-raises the Python exception).

**instance init**: `uint32_t init(void *vmctx)` evaluates global initializers and the
active element and data segments, in module order; same status as an array entry.

Value encoding in a ValRaw slot: integers in the low bytes (i32 sign-agnostic, upper
bytes unspecified), f32/f64 as their IEEE bits, v128 as 16 little-endian bytes,
references as a pointer (funcref: VMFuncRef*, externref: an opaque host handle).
"""

from __future__ import annotations

from aot.wasm.types import FuncType

# The LLVM calling convention of every wasm-call function and of every call through a
# VMFuncRef: one for all artifacts, so tail calls cross modules.
WASM_CALL_CONV = "tailcc"

# Python ints an i32 argument accepts: its signed and its unsigned spelling (as
# wasmtime-py).  The portable path and the compiled Python entries both hold to it.
I32_ARG_MIN, I32_ARG_MAX = -(2**31), 2**32 - 1


def values_slots(ft: FuncType) -> int:
    """Slots of the ValRaw buffer for an array entry or host call of this type."""
    return max(len(ft.params), len(ft.results), 1)


def has_ret_area(ft: FuncType) -> bool:
    return len(ft.results) > 1


def type_key(ft: FuncType) -> str:
    """A stable short spelling of a function type, used in symbol names and cache keys:
    `i32_i64__f64` for (i32, i64) -> f64, `__` alone for () -> ()."""
    return "_".join(map(str, ft.params)) + "__" + "_".join(map(str, ft.results))
