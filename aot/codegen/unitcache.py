"""The per-unit compile cache: wasmtime's incremental compilation cache, at the grain of
rustc's incremental codegen units.

A codegen unit's object file is a function of what its translation reads and of the
compiler that turns it into machine code (the fingerprint: aot's build, LLVM's version,
target, CPU and every option).  A unit of wasm functions is keyed by its inputs, as
wasmtime keys a function by its body and its module environment, so that a rebuild
neither translates nor compiles the units it finds (`source_keys`):

- the module's bytes without the code section, without the bytes of data segments
  (they reach the artifact as blobs, never through LLVM) and without custom sections
  other than `name` (function names become symbols);
- the plan's facts about the whole module (functions called from outside or through
  tables, the types call_indirect names, externref and tail-call use, one unit or more)
  and about this unit (its functions, its copies of other units' functions, which of
  those other units call);
- the bytes of the bodies the unit translates.

Everything else a unit's IR could show is kept out of the code by construction: compiled
code holds no offset in the wasm file, only offsets in each function's body
(`aot.abi.traps.trap_site`, `aot.codegen.debuginfo`), so a function does not change
when another grows; and units are cut where the content says (`aot.codegen.units`).
`tests/test_units.py` rebuilds after each kind of edit and checks that the artifact is
the one a compile without the cache makes.  The runtime unit (entries, trampolines,
aot_init, the vtable; the last unit, which also holds functions when a module is split
into a given number of units) is keyed by its functions as any unit, and by the whole
plan (every unit's functions, copies and cross-unit callees) and the blobs' sizes,
which the vtable records; a test checks, edit by edit, that its key changes whenever
its IR does.  `unit_key` keys a unit by its IR, where the inputs are unknown.

A function is recompiled with the unit that holds it: at -O2 LLVM optimizes a unit's
functions together (inlining), so they cannot be reused apart; at -O0 and -O1 each
function is a unit, so only the edited one is.  The objects live in the artifact
cache's folders (`aot.cache.Cache.get_unit`), pruned with it."""

from __future__ import annotations

import hashlib
import json
import struct

from aot.codegen.units import UnitPlan
from aot.wasm.module import BodyFacts, Module, body_key
from aot.wasm.reader import read_u32

_SECTION_CUSTOM, _SECTION_CODE, _SECTION_DATA = 0, 10, 11
_SPAN = struct.Struct("<QQ")


def unit_key(fingerprint: bytes, ir_text: str) -> str:
    """The key of a unit by its IR: when the module's bytes, hence its inputs, are
    not at hand (`compile_module` without `wasm`)."""
    h = hashlib.sha256()
    h.update(fingerprint)
    h.update(b"\0")
    h.update(ir_text.encode())
    return h.hexdigest()


def module_digest(wasm: bytes, module: Module) -> bytes:
    """What any unit's translation may read of the module besides function bodies (see
    above): its sections in order, each with its id and size, minus the code section,
    the data segments' bytes and custom sections other than `name`."""
    h = hashlib.sha256(b"aot module environment 1\0")
    h.update(wasm[:8])
    payloads = sorted((seg.data_offset, seg.data_offset + len(seg.data)) for seg in module.datas)
    pos = 8
    while pos < len(wasm):
        section = wasm[pos]
        size, start = read_u32(wasm, pos + 1)
        end = start + size
        if section == _SECTION_CUSTOM:
            name_len, at = read_u32(wasm, start)
            keep = wasm[at:at + name_len] == b"name"
        else:
            keep = section != _SECTION_CODE
        if keep:
            h.update(_SPAN.pack(section, size))
            at = start
            if section == _SECTION_DATA:
                for a, b in payloads:
                    if start <= a and b <= end:
                        h.update(wasm[at:a])
                        h.update(_SPAN.pack(a - start, b - a))  # where, how long: not what
                        at = b
            h.update(wasm[at:end])
        pos = end
    return h.digest()


def seen_key(fingerprint: bytes, wasm: bytes, module: Module) -> str:
    """The key of the mark a compile leaves in the cache for its module's environment
    (`module_digest`): found, the next compile of a module with that environment is a
    rebuild, most of whose units the cache holds.  `module` may be a skeleton
    (`aot.wasm.decoder.decode(bodies=())`)."""
    h = hashlib.sha256(b"aot module seen 1\0")
    h.update(fingerprint)
    h.update(b"\0")
    h.update(module_digest(wasm, module))
    return h.hexdigest()


_FACTS_FORMAT = "aot body facts 1"


def facts_record(wasm: bytes, module: Module) -> bytes:
    """What a compile learnt of its module's function bodies, for the mark it leaves
    (`seen_key`): each body's `BodyFacts` by its bytes' `body_key`.  A rebuild of a
    module with this environment skips decoding and checking those bodies
    (`aot.wasm.parse(..., known_facts=...)`): whether a body is valid, and its facts,
    follow from its bytes and the sections `module_digest` covers."""
    bodies = {}
    for body in module.codes:
        f = BodyFacts.of(body)
        bodies[body_key(wasm, body.offset, body.end_offset).hex()] = [
            f.instructions, sorted(f.callees), sorted(f.indirect_types), sorted(f.ref_funcs),
            f.tail_calls, f.externref_locals]
    return json.dumps({"format": _FACTS_FORMAT, "bodies": bodies},
                      separators=(",", ":")).encode()


def read_facts_record(record: bytes) -> dict[bytes, BodyFacts] | None:
    """The facts `facts_record` wrote, or None for a record of another format."""
    try:
        doc = json.loads(record)
        if doc.get("format") != _FACTS_FORMAT:
            return None
        return {bytes.fromhex(key): BodyFacts(n, frozenset(callees), frozenset(indirect),
                                              frozenset(refs), bool(tail), bool(ext))
                for key, (n, callees, indirect, refs, tail, ext) in doc["bodies"].items()}
    except (ValueError, TypeError, AttributeError, KeyError):
        return None


def _ints(values) -> bytes:
    items = sorted(values)
    return struct.pack(f"<Q{len(items)}Q", len(items), *items)


def source_keys(fingerprint: bytes, wasm: bytes, module: Module, plan: UnitPlan,
                sizes: dict[str, int]) -> list[str]:
    """The key of each unit by its inputs (see above); `sizes`: each blob's length."""
    env = hashlib.sha256(b"aot unit sources 1\0")
    env.update(fingerprint)
    env.update(b"\0")
    env.update(module_digest(wasm, module))
    env.update(_ints(plan.escaping))
    env.update(_ints(plan.indirect_types))
    # Whether there are other units (cross-unit symbols), not how many: an edit that
    # splits a unit at -O2 leaves the others' keys as they were.
    env.update(struct.pack("<BBBB", plan.count > 1, plan.uses_externref, plan.uses_tail_calls,
                           plan.per_function))
    first = module.num_imported_funcs
    keys: list[str] = []
    for unit, own in enumerate(plan.units):
        h = env.copy()
        if unit == plan.runtime_unit:  # its functions (a split into N units has some) too
            h.update(b"runtime\0")
            h.update(_ints([len(module.codes)]))
            for k, r in enumerate(plan.units):
                h.update(struct.pack("<QQ", r.start, r.stop))
                h.update(_ints(plan.copies[k]))
            h.update(_ints(plan.shared))
            for symbol, size in sorted(sizes.items()):
                h.update(symbol.encode() + b"\0" + struct.pack("<Q", size))
        translated = plan.translated(unit)
        h.update(struct.pack("<BQQ", unit == 0, own.start, own.stop))  # unit 0 opens .text
        h.update(_ints(plan.copies[unit]))
        h.update(_ints(i for i in translated if i in plan.shared))
        for i in translated:
            body = module.codes[i - first]
            h.update(_SPAN.pack(i, body.end_offset - body.offset))
            h.update(wasm[body.offset:body.end_offset])
        keys.append(h.hexdigest())
    return keys


__all__ = ["facts_record", "module_digest", "read_facts_record", "seen_key", "source_keys",
           "unit_key"]
