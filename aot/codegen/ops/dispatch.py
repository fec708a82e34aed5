"""Builds the opcode-number -> handler table from the registry, once per process."""

from __future__ import annotations

from functools import cache

from aot.codegen.ops.registry import PURE_OPS, STATEFUL_OPS, PureLowering


def _pure_handler(arity: int, fn: PureLowering):
    # Specialized per arity: this runs once per instruction of every compiled function.
    if arity == 0:
        def h0(tr, ins):
            tr.stack.append(fn(tr))
        return h0
    if arity == 1:
        def h1(tr, ins):
            s = tr.stack
            s[-1] = fn(tr, s[-1])
        return h1
    if arity == 2:
        def h2(tr, ins):
            s = tr.stack
            rhs = s.pop()
            s[-1] = fn(tr, s[-1], rhs)
        return h2

    def hn(tr, ins):
        s = tr.stack
        args = s[-arity:]
        del s[-arity:]
        s.append(fn(tr, *args))
    return hn


@cache
def dispatch_table() -> dict:
    import aot.codegen.ops.families  # noqa: F401  (registers every family)
    from aot.wasm.opcodes import OPCODES

    # By opcode number, so that every encoding of a name (untyped and typed `select`)
    # reaches its lowering.
    table = {}
    for code, info in OPCODES.items():
        if info.name in PURE_OPS:
            table[code] = _pure_handler(*PURE_OPS[info.name])
        elif info.name in STATEFUL_OPS:
            table[code] = STATEFUL_OPS[info.name]
    return table
