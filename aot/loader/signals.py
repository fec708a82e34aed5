"""Installing the guard-page fault handler (`aot.abi.faults`), and the registries it
reads: code ranges of loaded artifacts and the contexts of live stores.

The handler is compiled into the artifacts themselves; the first guard-mode artifact
loaded provides it (no JIT and no LLVM at load time).  It turns a fault in wasm code,
on a stack of an active wasm activation, into a trap, and chains every other fault to
the handler installed before (Python's faulthandler, a debugger's, or the default
action, which then kills the process as usual).

x86-64 Linux only (glibc's `ucontext_t` and `struct sigaction` layouts)."""

from __future__ import annotations

import platform
import threading

from aot.abi.faults import (
    CAPACITY,
    SA_FLAGS_OFFSET,
    SA_NODEFER,
    SA_SIGINFO,
    SIGACTION_SIZE,
    SIGBUS,
    SIGSEGV,
    FaultState,
)
from aot.errors import AotError
from aot.loader.ffi import ffi, libc

_lock = threading.Lock()
_state = ffi.new("AotFaultState *")
_state.sigaction_fn = ffi.cast("void *", ffi.addressof(libc, "sigaction"))
_free_ranges: list[int] = []
_free_stores: list[int] = []
_installed = False
_handler_artifact: object = None  # the artifact whose code the handler is


def supported() -> bool:
    return platform.system() == "Linux" and platform.machine() in ("x86_64", "AMD64")


def layout_matches() -> bool:
    """The state layout the compiled handler assumes is the one cffi gives (tested)."""
    return (ffi.sizeof("struct sigaction") == SIGACTION_SIZE
            and ffi.offsetof("struct sigaction", "sa_flags") == SA_FLAGS_OFFSET
            and all(ffi.offsetof("AotFaultState", name) == getattr(FaultState, name.upper())
                    for name in ("sigaction_fn", "n_ranges", "n_stores", "prev_segv",
                                 "prev_bus", "dfl", "ranges", "stores")))


def ensure_installed(handler: int, state_slot: int, artifact: object) -> None:
    """Install the handler at `handler` (once per process: later calls do nothing),
    pointing its artifact's `aot_fault_state` (at `state_slot`) at the process state.
    That artifact is kept for good: its code must stay mapped as long as the handler,
    and it is copied out of the file first (`detach_from_file`), so that nothing done
    to the file can change the code every later fault runs."""
    global _installed, _handler_artifact
    if _installed:
        return
    with _lock:
        if _installed:
            return
        if not supported() or not handler or not state_slot:
            raise AotError("guard-page bounds checks need x86-64 Linux; "
                           "compile with bounds_checks='explicit' for this machine")
        artifact.detach_from_file(handler)
        ffi.cast("AotFaultState **", state_slot)[0] = _state
        libc.sigemptyset(_state.dfl.sa_mask)
        _state.dfl.sa_handler = ffi.NULL  # SIG_DFL
        act = ffi.new("struct sigaction *")
        act.sa_handler = ffi.cast("void *", handler)
        libc.sigemptyset(act.sa_mask)
        act.sa_flags = SA_SIGINFO | SA_NODEFER
        for sig, prev in ((SIGSEGV, _state.prev_segv), (SIGBUS, _state.prev_bus)):
            if libc.sigaction(sig, act, ffi.addressof(prev)) != 0:
                raise AotError(f"cannot install the guard-page signal handler for signal {sig}")
        _handler_artifact = artifact
        _installed = True


def installed() -> bool:
    return _installed


def _claim(free: list[int], count_field: str) -> int:
    with _lock:
        if free:
            return free.pop()
        slot = getattr(_state, count_field)
        if slot >= CAPACITY:
            raise AotError(f"more than {CAPACITY} live artifacts or stores")
        setattr(_state, count_field, slot + 1)
        return slot


def register_code(begin: int, end: int) -> int:
    """Mark [begin, end) as compiled wasm code until `release_range` of the slot
    returned (the owner calls it when it dies)."""
    slot = _claim(_free_ranges, "n_ranges")
    _state.ranges[2 * slot] = begin
    _state.ranges[2 * slot + 1] = end
    return slot


def release_range(slot: int) -> None:
    if _state is None:  # interpreter shutdown: module globals are gone
        return
    _state.ranges[2 * slot + 1] = 0  # empty the range before anything else
    _state.ranges[2 * slot] = 0
    with _lock:
        _free_ranges.append(slot)


def register_store(ctx) -> int:
    """Mark a store context as one whose activations may fault, until `release_store`."""
    slot = _claim(_free_stores, "n_stores")
    _state.stores[slot] = ctx
    return slot


def release_store(slot: int) -> None:
    if _state is None:  # interpreter shutdown
        return
    _state.stores[slot] = ffi.NULL
    with _lock:
        _free_stores.append(slot)
