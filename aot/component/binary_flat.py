"""What the component decoder asks of the canonical ABI's types: the core signatures of
`canon lift` and `canon lower` (`aot.component.abi_layout`'s flattening, as core value
types), and which canonical options a function type needs."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from aot.component import abi_layout
from aot.component.abi_layout import MAX_FLAT_PARAMS, MAX_FLAT_RESULTS
from aot.component.binary_typecheck import children
from aot.component.model import CoreFuncType
from aot.component.types import (
    Borrow,
    FuncType,
    List,
    Prim,
    ResourceType,
    ValType,
)
from aot.wasm.types import ValType as Core

_CORE = {"i32": Core.I32, "i64": Core.I64, "f32": Core.F32, "f64": Core.F64}


def flatten_functype(ft: FuncType, context: str) -> CoreFuncType:
    """The core type of a lifted (`context` "lift") or lowered ("lower") function, with
    32-bit memories and no `async` (`aot.component.abi_layout.flatten_functype`)."""
    sig = abi_layout.flatten_functype(ft, context)
    return CoreFuncType(tuple(_CORE[t] for t in sig.params), tuple(_CORE[t] for t in sig.results))


def flat_count_exceeds(types: Iterable[ValType], limit: int) -> bool:
    return len(abi_layout.flatten_types(list(types))) > limit


def needs_memory(t: Any, memo: dict[int, tuple[Any, bool]]) -> bool:
    """Whether values of `t` live partly in linear memory (it contains a string or a
    list), so that lifting or lowering it needs `memory` (and `realloc` to allocate)."""
    hit = memo.get(id(t))
    if hit is not None:
        return hit[1]
    result = t == Prim.STRING or isinstance(t, List) or any(
        needs_memory(c, memo) for c in children(t) if not isinstance(c, ResourceType))
    memo[id(t)] = (t, result)
    return result


def contains_borrow(t: Any, memo: dict[int, tuple[Any, bool]] | None = None) -> bool:
    """Whether `t` has a `borrow` in it (function results may not)."""
    memo = {} if memo is None else memo
    hit = memo.get(id(t))
    if hit is not None:
        return hit[1]
    result = isinstance(t, Borrow) or any(
        contains_borrow(c, memo) for c in children(t) if not isinstance(c, ResourceType))
    memo[id(t)] = (t, result)
    return result



__all__ = ["MAX_FLAT_PARAMS", "MAX_FLAT_RESULTS", "contains_borrow", "flat_count_exceeds",
           "flatten_functype", "needs_memory"]
