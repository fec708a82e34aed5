"""Codegen units: a module's functions split into LLVM modules compiled independently.

The split depends on the module (and the `codegen_units` option) only, never on how
many jobs compile it, so an artifact is byte-identical whatever `-j` says (as rustc's
codegen units).  Units are runs of consecutive function indices: toolchains lay out
functions in source order, so callers and their callees mostly share a unit and LLVM
still inlines them.

When the count is automatic, a module of less than `SINGLE_UNIT_BYTES` of code is one
unit; a larger one is cut where its content says (content-defined chunking, as in rsync
and backup tools): after a function whose bytes hash to a cut, once the run holds
`UNIT_MIN_BYTES`, and always at `UNIT_MAX_BYTES`.  Editing one function then moves no
boundary but, at worst, the next one or two, so the other units translate to the same
IR as before and the per-unit compile cache (`aot.codegen.unitcache`) has them.  The
runtime part (entries, trampolines, `aot_init`, the vtable) is then a unit of its own,
the last.  With an explicit count the functions are split into that many runs of
about equal code size, and the last also holds the runtime part.

The first unit begins with `aot_text_begin` and the runtime part ends with
`aot_text_end`: objects are concatenated in unit order, so the markers bracket all the
compiled code.  A function that another unit calls, and every wrapper the runtime part
refers to, has hidden (not internal) linkage; the rest stay internal, which keeps LLVM's
inlining of single-caller functions.  A small function called from another unit is also
translated there, as a private copy LLVM can inline (`INLINE_COPY_BYTES`).

Where LLVM optimizes each function on its own (-O0 and -O1: no inliner, no
interprocedural pass), grouping functions buys nothing but a coarser cache, so there an
automatic split gives each function a unit of its own (`function_grain`): a rebuild
after an edit of one function then recompiles that function only, as wasmtime's
incremental cache does.  The count "function" asks for that split at any size and
level.  The trap path, shared by all, is then defined in the runtime part."""

from __future__ import annotations

from dataclasses import dataclass, field

from aot.wasm.module import BodyFacts, FuncBody, Module
from aot.wasm.opcodes import REF_FUNC
from aot.wasm.types import ExternKind, ValType

# Automatic split (content-defined): modules with less code than this stay one unit (no
# cross-unit calls, nothing to merge); larger ones are cut into runs of UNIT_MIN_BYTES
# to UNIT_MAX_BYTES, small enough to balance cores and to recompile little after an edit.
SINGLE_UNIT_BYTES = 64 * 1024
UNIT_MIN_BYTES = 24 * 1024
UNIT_MAX_BYTES = 64 * 1024
# Past the minimum, one function in CUT_ONE_IN ends a unit (its bytes hash to a cut).
CUT_ONE_IN = 8
# Functions up to this many bytes of wasm code are copied into the units that call them.
INLINE_COPY_BYTES = 128
# The `codegen_units` value that asks for one unit per function (+ the runtime part).
PER_FUNCTION = "function"


@dataclass
class UnitPlan:
    """The whole module's split, computed once by the compiling process and sent to
    each worker."""

    units: list[range]  # defined-function indices (module function space) of each unit
    unit_sizes: list[int]  # bytes of wasm code of each unit's own functions
    unit_of: dict[int, int]  # defined function index -> unit
    escaping: set[int]  # functions that need the wasm-call ABI (imported ones included)
    indirect_types: set[int]  # type indices named by call_indirect
    shared: set[int] = field(default_factory=set)  # defined functions called across units
    # Per unit: small functions of other units it calls, translated there too (private).
    copies: list[set[int]] = field(default_factory=list)
    # Whether any function, local, table or global has type externref: then compiled
    # code keeps GC roots and stack maps (`aot.codegen.stackmaps`).
    uses_externref: bool = False
    # Whether any function makes a tail call (return_call*): then every function of the
    # module uses LLVM's `tailcc`, under which a `musttail` call may change signature.
    uses_tail_calls: bool = False
    # One unit per function (see above): the trap path is then the runtime unit's.
    per_function: bool = False

    @property
    def count(self) -> int:
        return len(self.units)

    def translated(self, unit: int) -> list[int]:
        """The functions unit `unit` translates: its own, then its private copies."""
        return [*self.units[unit], *sorted(self.copies[unit])]

    @property
    def runtime_unit(self) -> int:
        return len(self.units) - 1


def _body_size(body: FuncBody, facts: BodyFacts) -> int:
    return max(body.end_offset - body.offset, facts.instructions)


def _content_defined_runs(sizes: list[int], digests: list[int]) -> list[tuple[int, int]]:
    runs = []
    start = running = 0
    for i, size in enumerate(sizes):
        running += size
        if running >= UNIT_MAX_BYTES or (running >= UNIT_MIN_BYTES and digests[i] % CUT_ONE_IN == 0):
            runs.append((start, i + 1))
            start, running = i + 1, 0
    if start < len(sizes):
        runs.append((start, len(sizes)))
    return runs


def _balanced_runs(sizes: list[int], n: int) -> list[tuple[int, int]]:
    """`n` runs of about equal code size (some empty when there are fewer functions)."""
    total = sum(sizes)
    runs = []
    start = running = 0
    for k in range(n):
        if k == n - 1:
            end = len(sizes)
        else:
            target = total * (k + 1) / n  # cumulative size where run k ends
            end = start
            while end < len(sizes) and running + sizes[end] / 2 <= target:
                running += sizes[end]
                end += 1
        runs.append((start, end))
        start = end
    return runs


def plan_units(module: Module, count: int | str | None = None, *,
               per_function: bool = False) -> UnitPlan:
    """Split `module` into `count` units: a number, None (automatic, see above: one unit
    per function when `per_function`, else by content) or `PER_FUNCTION`.  A unit may be
    empty when `count` exceeds the number of functions; there is always at least one."""
    first = module.num_imported_funcs
    facts = [BodyFacts.of(b) for b in module.codes]
    sizes = [_body_size(b, f) for b, f in zip(module.codes, facts)]
    if count == PER_FUNCTION:
        per_function, count = True, None
    else:
        per_function = per_function and count is None and sum(sizes) >= SINGLE_UNIT_BYTES
    if per_function:
        runs = [*((i, i + 1) for i in range(len(sizes))), (len(sizes), len(sizes))]
    elif count is not None:
        runs = _balanced_runs(sizes, max(1, count))
    elif sum(sizes) < SINGLE_UNIT_BYTES:
        runs = [(0, len(sizes))]
    else:
        runs = [*_content_defined_runs(sizes, [b.digest for b in module.codes]),
                (len(sizes), len(sizes))]  # + the runtime's
    units = [range(first + a, first + b) for a, b in runs]
    n = len(units)
    unit_of = {i: k for k, r in enumerate(units) for i in r}

    escaping: set[int] = set(range(first))
    escaping.update(e.index for e in module.exports if e.kind == ExternKind.FUNC)
    if module.start is not None:
        escaping.add(module.start)
    indirect: set[int] = set()
    for seg in module.elems:
        for expr in seg.init:
            escaping.update(ins.imm for ins in expr if ins.op == REF_FUNC)
    for g in module.globals:
        escaping.update(ins.imm for ins in g.init if ins.op == REF_FUNC)
    # Direct callees of each defined function, defined ones only.
    callees = [{i for i in f.callees if i >= first} for f in facts]
    tail_calls = any(f.tail_calls for f in facts)
    for f in facts:
        indirect.update(f.indirect_types)
        escaping.update(f.ref_funcs)

    # Small functions called from another unit get a private copy there, so LLVM can
    # still inline them (rustc does the same with #[inline] functions across codegen
    # units); the copy's own cross-unit callees are called as usual.
    copies: list[set[int]] = [set() for _ in units]
    if n > 1 and not per_function:
        for k, r in enumerate(units):
            for i in r:
                for callee in callees[i - first]:
                    if unit_of[callee] != k and sizes[callee - first] <= INLINE_COPY_BYTES:
                        copies[k].add(callee)
    shared: set[int] = set()
    for k, r in enumerate(units):
        for i in (*r, *copies[k]):
            for callee in callees[i - first]:
                if unit_of[callee] != k and callee not in copies[k]:
                    shared.add(callee)
    unit_sizes = [sum(sizes[i - first] for i in r) for r in units]
    return UnitPlan(units, unit_sizes, unit_of, escaping, indirect, shared, copies,
                    uses_externref(module, facts), tail_calls, per_function)


def function_grain(opt_level: int) -> bool:
    """Whether an automatic split at this optimization level gives each function its own
    unit: where LLVM optimizes functions one by one (no inliner below -O2)."""
    return opt_level <= 1


def uses_externref(module: Module, facts: list[BodyFacts] | None = None) -> bool:
    """Whether an externref other than a null constant can exist in the module's code:
    only through a function type, a local, a table or a global of that type.  `facts`:
    the bodies' (`BodyFacts.of`), when already at hand."""
    ext = ValType.EXTERNREF
    if facts is None:
        facts = [BodyFacts.of(b) for b in module.codes]
    return (any(ext in t.params or ext in t.results for t in module.types)
            or any(f.externref_locals for f in facts)
            or any(t.elem == ext for t in module.all_tables())
            or any(g.type == ext for g in module.all_globals()))


__all__ = ["PER_FUNCTION", "UnitPlan", "function_grain", "plan_units", "uses_externref"]
