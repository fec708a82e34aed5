"""Process-wide canonical ids of function types, so that `call_indirect` can compare the
type of a funcref from any instance with one integer compare; and, per canonical id, a
host-call trampoline from some loaded artifact (`VTable.HOST_TRAMPOLINES_BY_TYPE`), which
a host function needs for a VMFuncRef of its own."""

from __future__ import annotations

import threading
import weakref

from aot.abi.artifact import VTable
from aot.loader.mapping import table_addresses
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


# Artifacts are only noted at load (start-up reads nothing more); their per-type
# trampolines are read on the first lookup that needs them.
_unscanned: list[weakref.ref] = []
# canonical id -> [(address, artifact)]: every scanned artifact that has the type, so one
# that is gone can be replaced by the next.
_trampolines: dict[int, list[tuple[int, weakref.ref]]] = {}


def register_artifact_types(artifact) -> None:
    """Note a loaded artifact whose host trampolines by type may serve any host function."""
    _unscanned.append(weakref.ref(artifact))


def host_trampoline(ft: FuncType) -> tuple[int, object] | None:
    """(address, artifact) of a host-call trampoline for type `ft` from a live artifact,
    or None when no loaded artifact has one (`VTable.HOST_TRAMPOLINES_BY_TYPE`).  The
    caller keeps the artifact alive as long as it uses the address."""
    tid = canonical_type_id(ft)
    with _lock:
        found = _live(tid)
        while found is None and _unscanned:
            art = _unscanned.pop()()
            if art is not None:
                _scan(art)
                found = _live(tid)
        return found


def _live(tid: int) -> tuple[int, object] | None:
    candidates = _trampolines.get(tid, [])
    while candidates:
        addr, ref = candidates[-1]
        art = ref()
        if art is not None:
            return addr, art
        candidates.pop()
    return None


def _scan(art) -> None:
    types = art.desc.types
    if not types:
        return
    addrs = table_addresses(art.vtable[VTable.HOST_TRAMPOLINES_BY_TYPE], len(types))
    ref = weakref.ref(art)
    seen = set()
    for ft, addr in zip(types, addrs):
        if addr and ft not in seen:
            seen.add(ft)
            tid = _ids.setdefault(ft, len(_ids) + 1)  # `_lock` is held
            _trampolines.setdefault(tid, []).append((addr, ref))
