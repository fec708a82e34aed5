"""Turning the return addresses recorded at a trap into wasm frames.

At trap time only integers are copied (the trap offset and the return addresses); the
artifact's DWARF is parsed the first time a backtrace is looked at (`aot.elf.addrmap`)."""

from __future__ import annotations

import weakref
from collections.abc import Callable

from aot.abi.traps import TrapCode, split_trap_site
from aot.abi.vmctx import MAX_BACKTRACE
from aot.errors import Frame
from aot.loader.ffi import ffi

_artifacts: list[weakref.ref] = []


def register_artifact(artifact) -> None:
    _artifacts.append(weakref.ref(artifact))


def artifact_at(pc: int):
    """The loaded artifact whose compiled code contains `pc`, or None."""
    for ref in list(_artifacts):
        art = ref()
        if art is None:
            _artifacts.remove(ref)
        elif art.code_contains(pc):
            return art
    return None


def capture(ctx) -> tuple[int, list[int]]:
    """(trap site, return addresses) from a store context, right after a trap."""
    n = min(ctx.backtrace_len, MAX_BACKTRACE)
    pcs = list(ffi.unpack(ctx.backtrace, n)) if n and ctx.backtrace != ffi.NULL else []
    ctx.backtrace_len = 0
    return ctx.trap_offset, pcs


def symbolizer(code: TrapCode, trap_site: int, pcs: list[int]) -> Callable[[], list[Frame]]:
    def frames() -> list[Frame]:
        try:
            return symbolize()
        except Exception:  # noqa: BLE001 - a backtrace must never hide the trap itself
            return []

    def symbolize() -> list[Frame]:
        out: list[Frame] = []
        innermost = None
        for pc in pcs:
            art = artifact_at(pc)
            if art is None:
                continue
            innermost = innermost or art
            # A return address points after its call: look up the call itself.
            for f in art.frames_at(pc - 1):
                out.append(f)
        site = split_trap_site(trap_site)
        if out and code != TrapCode.HOST_EXCEPTION and site is not None:
            # The trapping instruction itself, as compiled code recorded it (the line
            # table may have merged the trap paths of several instructions).
            out[0] = innermost.frame(*site)
        return out

    return frames


def host_frame(name: str) -> Frame:
    return Frame(None, name, "", None, is_host=True)


__all__ = ["artifact_at", "capture", "host_frame", "register_artifact", "symbolizer"]
