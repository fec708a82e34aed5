"""Process-wide canonical ids of function types, so that `call_indirect` can compare the
type of a funcref from any instance with one integer compare."""

from __future__ import annotations

import threading

from aot.wasm.types import FuncType

_lock = threading.Lock()
_ids: dict[FuncType, int] = {}


def canonical_type_id(ft: FuncType) -> int:
    """A non-zero id, equal for equal types (0 is what a zeroed VMFuncRef holds)."""
    tid = _ids.get(ft)
    if tid is None:
        with _lock:
            tid = _ids.setdefault(ft, len(_ids) + 1)
    return tid
