"""The operator lowering registry: opcode name -> how to build it in LLVM.

Two kinds of entries:

* **pure** operators take their operands from the wasm stack and push one result:
  `fn(ctx, *operands) -> ir.Value`, registered with their operand count.  Numeric,
  comparison, conversion and SIMD lane operators are all pure; their tables live in
  `ops/numeric.py`, `ops/conversion.py`, `ops/simd_*.py`.
* **stateful** operators (control flow, variables, memory, calls, tables) need the
  function translator itself: `fn(tr, instr) -> None`.  They live in `ops/control.py`,
  `ops/memory.py`, ... and work on `tr`'s operand and control stacks.

Adding an operator is one registration; the translator never grows a branch per opcode.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from llvmlite import ir

from aot.abi.traps import TrapCode


class LoweringContext(Protocol):
    """What a pure lowering may use.  The function translator implements it."""

    builder: ir.IRBuilder
    module: ir.Module

    def trap_if(self, cond: ir.Value, code: TrapCode) -> None:
        """Trap with `code` when the i1 `cond` is true; the builder continues in the
        not-trapping block.  The trap path is marked cold."""

    def intrinsic(self, name: str, ret: ir.Type, args: Sequence[ir.Type]) -> ir.Function:
        """Declare (once per module) and return the LLVM intrinsic `name`."""


PureLowering = Callable[..., ir.Value]
StatefulLowering = Callable[[Any, Any], None]

PURE_OPS: dict[str, tuple[int, PureLowering]] = {}
STATEFUL_OPS: dict[str, StatefulLowering] = {}


def register_pure(name: str, arity: int, fn: PureLowering) -> None:
    if name in PURE_OPS or name in STATEFUL_OPS:
        raise ValueError(f"operator {name} registered twice")
    PURE_OPS[name] = (arity, fn)


def pure(*names: str, arity: int) -> Callable[[PureLowering], PureLowering]:
    """Decorator: register `fn` as the lowering of each of `names`."""

    def deco(fn: PureLowering) -> PureLowering:
        for name in names:
            register_pure(name, arity, fn)
        return fn

    return deco


def stateful(*names: str) -> Callable[[StatefulLowering], StatefulLowering]:
    def deco(fn: StatefulLowering) -> StatefulLowering:
        for name in names:
            if name in PURE_OPS or name in STATEFUL_OPS:
                raise ValueError(f"operator {name} registered twice")
            STATEFUL_OPS[name] = fn
        return fn

    return deco
