"""Canonical definitions (Binary.md "Canonical Definitions", CanonicalABI.md "Canonical
Definitions"): `canon lift`, `canon lower` and the resource built-ins, with the checks
the canonical ABI relies on: the options it needs are present and well-typed, and the
core function's signature is the flattening of the component function type.  The
built-ins of async, threads and error contexts are refused by name."""

from __future__ import annotations

from aot.component.binary_deftype import TypeDecoder
from aot.component.binary_describe import render_functype
from aot.component.binary_flat import (
    MAX_FLAT_PARAMS,
    MAX_FLAT_RESULTS,
    flat_count_exceeds,
    flatten_functype,
    needs_memory,
)
from aot.component.binary_scope import Scope, fail
from aot.component.model import (
    CanonLift,
    CanonLower,
    CanonOptions,
    CanonResource,
    CoreFuncType,
    Sort,
)
from aot.component.types import FuncType, ResourceType
from aot.errors import NotSupportedError
from aot.wasm.types import MemoryType
from aot.wasm.types import ValType as Core

STRING_ENCODINGS = {0x00: "utf8", 0x01: "utf16", 0x02: "latin1+utf16"}
# Canonical built-ins of the async, threads and error-context proposals.
UNSUPPORTED_CANON = {
    0x05: "task.cancel", 0x06: "subtask.cancel", 0x07: "resource.drop async",
    0x08: "backpressure.set", 0x09: "task.return", 0x0A: "context.get", 0x0B: "context.set",
    0x0C: "thread.yield", 0x0D: "subtask.drop", 0x0E: "stream.new", 0x0F: "stream.read",
    0x10: "stream.write", 0x11: "stream.cancel-read", 0x12: "stream.cancel-write",
    0x13: "stream.drop-readable", 0x14: "stream.drop-writable", 0x15: "future.new",
    0x16: "future.read", 0x17: "future.write", 0x18: "future.cancel-read",
    0x19: "future.cancel-write", 0x1A: "future.drop-readable", 0x1B: "future.drop-writable",
    0x1C: "error-context.new", 0x1D: "error-context.debug-message",
    0x1E: "error-context.drop", 0x1F: "waitable-set.new", 0x20: "waitable-set.wait",
    0x21: "waitable-set.poll", 0x22: "waitable-set.drop", 0x23: "waitable.join",
    0x24: "backpressure.inc", 0x25: "backpressure.dec", 0x26: "thread.index",
    0x27: "thread.new-indirect", 0x28: "thread.resume-later", 0x29: "thread.suspend",
    0x2A: "thread.suspend-then-resume", 0x2B: "thread.yield-then-resume",
    0x2C: "thread.suspend-then-promote", 0x2D: "thread.yield-then-promote",
    0x40: "thread.spawn-ref", 0x41: "thread.spawn-indirect",
    0x42: "thread.available-parallelism",
}
_I32 = Core.I32
REALLOC_TYPE = CoreFuncType((_I32, _I32, _I32, _I32), (_I32,))
_RESOURCE_TYPES = {
    0x02: ("resource.new", CoreFuncType((_I32,), (_I32,))),
    0x03: ("resource.drop", CoreFuncType((_I32,), ())),
    0x04: ("resource.rep", CoreFuncType((_I32,), (_I32,))),
}


class CanonDecoder(TypeDecoder):
    """The canon section's definitions."""

    def canon(self, scope: Scope) -> None:
        pos = self.r.pos
        op = self.byte()
        if op == 0x00:
            self.expect(0x00, "canon lift (core func sort)")
            self.define(scope, Sort.FUNC, self.canon_lift(scope, pos))
        elif op == 0x01:
            self.expect(0x00, "canon lower (func sort)")
            self.define(scope, Sort.CORE_FUNC, self.canon_lower(scope, pos))
        elif op in _RESOURCE_TYPES:
            self.define(scope, Sort.CORE_FUNC, self.canon_resource(scope, op, pos))
        elif op in UNSUPPORTED_CANON:
            raise NotSupportedError(
                f"component model: {UNSUPPORTED_CANON[op]} (canon 0x{op:02x})", pos)
        else:
            fail(f"malformed canonical definition 0x{op:02x}", pos)

    def canon_options(self, scope: Scope, lift: bool) -> CanonOptions:
        opts = CanonOptions()
        seen: set[str] = set()
        pos = self.r.pos
        for _ in range(self.count()):
            pos = self.r.pos
            key = self.canon_option(scope, opts, lift, pos)
            if key in seen:
                fail(f"canonical option {key} given twice", pos)
            seen.add(key)
        if opts.realloc is not None and opts.memory is None:
            fail("the realloc option needs a memory option", pos)
        return opts

    def canon_option(self, scope: Scope, opts: CanonOptions, lift: bool, pos: int) -> str:
        b = self.byte()
        if b in STRING_ENCODINGS:
            opts.string_encoding = STRING_ENCODINGS[b]
            return "string-encoding"
        if b == 0x03:
            opts.memory, mem = self.typed(scope, Sort.CORE_MEMORY, MemoryType, "a memory")
            if mem.is64:
                raise NotSupportedError("component model: 64-bit memories in canonical "
                                        "options", pos)
            if mem.shared:
                fail(f"memory {opts.memory} is shared: canonical options need an unshared one",
                     pos)
            return "memory"
        if b == 0x04:
            opts.realloc, ft = self.typed(scope, Sort.CORE_FUNC, CoreFuncType, "a function")
            if ft != REALLOC_TYPE:
                fail(f"realloc function {opts.realloc} has type {ft}, not {REALLOC_TYPE}", pos)
            return "realloc"
        if b == 0x05:
            if not lift:
                fail("post-return is only allowed in canon lift", pos)
            opts.post_return, _ = self.typed(scope, Sort.CORE_FUNC, CoreFuncType, "a function")
            return "post-return"
        if b in (0x06, 0x07):
            what = "the async option" if b == 0x06 else "the callback option"
            raise NotSupportedError(f"component model: {what} (canonopt 0x{b:02x})", pos)
        fail(f"malformed canonical option 0x{b:02x}", pos)

    def require(self, opts: CanonOptions, pos: int, what: str, memory: bool,
                realloc: bool) -> None:
        """The options the canonical ABI needs to move `what`'s values."""
        if realloc and opts.realloc is None:
            fail(f"{what} needs a realloc option", pos)
        if (memory or realloc) and opts.memory is None:
            fail(f"{what} needs a memory option", pos)

    def io_needs(self, ft: FuncType) -> tuple[bool, bool, bool, bool]:
        """(params in memory, params spilled, results in memory, results spilled)."""
        params = [t for _, t in ft.params]
        results = list(ft.result_types())
        memo = self.memory_memo
        return (any(needs_memory(t, memo) for t in params),
                flat_count_exceeds(params, MAX_FLAT_PARAMS),
                any(needs_memory(t, memo) for t in results),
                flat_count_exceeds(results, MAX_FLAT_RESULTS))

    def canon_lift(self, scope: Scope, pos: int) -> CanonLift:
        at = self.r.pos
        f, core_type = self.typed(scope, Sort.CORE_FUNC, CoreFuncType, "a function")
        opts = self.canon_options(scope, lift=True)
        t, ft = self.typed(scope, Sort.TYPE, FuncType, "a function type")
        p_mem, p_spill, r_mem, r_spill = self.io_needs(ft)
        what = f"canon lift of {render_functype(ft)}"
        # The callee receives its arguments in memory the ABI allocates, and returns
        # results the ABI reads from memory.
        self.require(opts, pos, what, memory=r_mem or r_spill, realloc=p_mem or p_spill)
        flat = flatten_functype(ft, "lift")
        if core_type != flat:
            fail(f"{what}: core func {f} has type {core_type}, the lifted type needs {flat}", at)
        if opts.post_return is not None:
            post = scope.spaces[Sort.CORE_FUNC][opts.post_return].type
            if post != CoreFuncType(flat.results, ()):
                fail(f"{what}: post-return core func {opts.post_return} has type {post}, "
                     f"not {CoreFuncType(flat.results, ())}", pos)
        return CanonLift(f, t, opts, ft, pos)

    def canon_lower(self, scope: Scope, pos: int) -> CanonLower:
        f, ft = self.typed(scope, Sort.FUNC, FuncType, "a function")
        opts = self.canon_options(scope, lift=False)
        p_mem, p_spill, r_mem, r_spill = self.io_needs(ft)
        # The caller passes arguments in its memory; results are written to memory the
        # ABI allocates (strings, lists) or the caller provides (spilled flat results).
        self.require(opts, pos, f"canon lower of {render_functype(ft)}",
                     memory=p_mem or p_spill or r_spill, realloc=r_mem)
        return CanonLower(f, opts, flatten_functype(ft, "lower"), pos)

    def canon_resource(self, scope: Scope, op: int, pos: int) -> CanonResource:
        name, core_type = _RESOURCE_TYPES[op]
        t, rt = self.typed(scope, Sort.TYPE, ResourceType, "a resource type")
        if name != "resource.drop" and rt not in scope.defined:
            fail(f"{name} of type {t}: only a resource type defined by this component", pos)
        return CanonResource(name, t, rt, core_type, pos)


__all__ = ["REALLOC_TYPE", "UNSUPPORTED_CANON", "CanonDecoder"]
