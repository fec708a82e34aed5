"""wasm Module -> LLVM modules, one per codegen unit (`aot.codegen.units`): every
function, the trampolines, the init function and the `aot_vtable` the loader starts
from (`aot.abi.artifact`); and the bulk bytes (`artifact_blobs`) that the ELF writer
adds without LLVM."""

from __future__ import annotations

import struct

from llvmlite import ir

from aot.abi.artifact import (
    ABI_VERSION,
    CODE_OFFSETS_SYMBOL,
    MEMORY_IMAGE_ALIGN,
    MEMORY_IMAGE_RUNS_SYMBOL,
    MEMORY_IMAGE_SYMBOL,
    METADATA_SYMBOL,
    NAMES_SYMBOL,
    NT_AOT_VTABLE,
    VTABLE_MAGIC,
    VTABLE_NOTE_NAME,
    VTABLE_NOTE_SECTION,
    VTABLE_SYMBOL,
    WASM_SYMBOL,
    VTable,
    data_segment_symbol,
)
from aot.abi.metadata import encode_metadata, encode_names
from aot.abi.pyapi import has_python_entry
from aot.abi.signatures import type_key
from aot.codegen import faulthandler
from aot.codegen.elfwriter import Blob
from aot.codegen.function import translate_function
from aot.codegen.init import define_init
from aot.codegen.llvmtypes import I8, I32, I64, PTR, VOID
from aot.codegen.memimage import image_applies, memory_image_runs
from aot.codegen.module_context import ModuleContext
from aot.codegen.options import CompileOptions
from aot.codegen.pyentry import PyApiTable, define_python_entry, define_unchecked_entry
from aot.codegen.trampolines import (
    declare_wasm_call,
    define_array_entry,
    define_host_trampoline,
    define_wasm_call,
)
from aot.codegen.units import UnitPlan, plan_units
from aot.wasm.module import Module


def translate_module(module: Module, options: CompileOptions, triple: str, data_layout: str) -> str:
    """The LLVM IR text of the whole artifact as one unit (its bulk data comes from
    `artifact_blobs`)."""
    plan = plan_units(module, 1)
    return translate_unit(module, options, triple, data_layout, plan, 0,
                          blob_sizes(artifact_blobs(module)))


def translate_unit(module: Module, options: CompileOptions, triple: str, data_layout: str,
                   plan: UnitPlan, unit: int, sizes: dict[str, int]) -> str:
    """The LLVM IR text of codegen unit `unit` (`aot.codegen.units`).  `sizes` gives the
    length of each blob, for the vtable."""
    mc = ModuleContext(module, options, triple, data_layout, plan, unit)
    first_defined = mc.n_imported_funcs
    own = plan.units[unit]
    for idx in plan.translated(unit):
        translate_function(mc, idx, module.codes[idx - first_defined])
    wasm_calls = {idx: define_wasm_call(mc, idx) for idx in own if idx in mc.escaping}
    if mc.is_runtime_unit:
        for idx in sorted(mc.escaping):
            if idx >= first_defined and idx not in wasm_calls:
                wasm_calls[idx] = declare_wasm_call(mc, idx)
        _define_runtime(mc, module, triple, dict(sorted(wasm_calls.items())), sizes)
    text = faulthandler.render(str(mc.ir))
    _dismantle(mc)
    return text


def _dismantle(mc: ModuleContext) -> None:
    """Break the reference cycles of a rendered unit (module <-> its globals and
    metadata, a function <-> its arguments and blocks), so that reference counting
    frees it at once: left to the cyclic collector, its scans of every unit's objects
    cost a tenth of the translation."""
    module = mc.ir
    for value in module.globals.values():
        if isinstance(value, ir.Function):
            value.blocks = []
            value.args = ()
            value.return_value = None
            value.scope = None
    module.globals.clear()
    module.metadata.clear()
    module.namedmetadata.clear()
    cache = vars(module).get("_metadatacache")  # llvmlite's, keyed by operands
    if cache is not None:
        cache.clear()
    mc.internal_funcs = None  # its `_declare` is a method of `mc`


def artifact_blobs(module: Module, wasm: bytes | None = None) -> list[Blob]:
    """The artifact's bulk bytes, which the ELF writer adds directly (`aot.abi.artifact`):
    the module's wasm when given (`CompileOptions.embed_wasm`), the module description,
    the name map, the bodies' offsets in the wasm (for
    backtraces), the sparse memory image and the bytes of the
    data segments (for `memory.init`, and for `aot_init` when there is no image)."""
    blobs = [Blob(WASM_SYMBOL, wasm, 1)] if wasm is not None else []
    blobs += [Blob(METADATA_SYMBOL, encode_metadata(module)), Blob(NAMES_SYMBOL, encode_names(module)),
             Blob(CODE_OFFSETS_SYMBOL, struct.pack(f"<{len(module.codes)}I",
                                                   *(b.offset for b in module.codes)), 4)]
    runs = memory_image_runs(module)
    if runs:
        blobs.append(Blob(MEMORY_IMAGE_SYMBOL, b"".join(r.data for r in runs), MEMORY_IMAGE_ALIGN))
        blobs.append(Blob(MEMORY_IMAGE_RUNS_SYMBOL,
                          b"".join(struct.pack("<QQ", r.offset, len(r.data)) for r in runs), 8))
    # Every segment has a symbol (`memory.init` may name any); an active segment in the
    # image is dropped once instantiated, so its bytes are never read again.
    imaged = image_applies(module)
    for k, seg in enumerate(module.datas):
        in_image = imaged and seg.mode == "active"
        blobs.append(Blob(data_segment_symbol(k), b"" if in_image else seg.data, 1))
    return blobs


def blob_sizes(blobs: list[Blob]) -> dict[str, int]:
    return {b.symbol: len(b.data) for b in blobs}


def _define_runtime(mc: ModuleContext, module: Module, triple: str,
                    wasm_calls: dict[int, ir.Function], sizes: dict[str, int]) -> None:
    """The last unit's runtime part: trampolines, entries, aot_init, the vtable."""
    first_defined = mc.n_imported_funcs
    pyapi = PyApiTable(mc.ir)
    # One host-call trampoline per distinct type, shared by the imported functions of that
    # type.  The per-type array (types named by call_indirect, the only way wasm reaches
    # a funcref, and imported ones) lets the loader give a host function of such a type a
    # VMFuncRef of its own; other types cost no code.
    host_by_type: dict[str, ir.Function] = {}

    def host_trampoline(ft) -> ir.Function:
        key = type_key(ft)
        if key not in host_by_type:
            host_by_type[key] = define_host_trampoline(
                mc, ft, f"aot_host_{len(host_by_type)}", pyapi if has_python_entry(ft) else None)
        return host_by_type[key]

    host_trampolines = [host_trampoline(mc.func_types[idx]) for idx in range(first_defined)]
    host_by_type_index = [
        host_trampoline(ft) if t in mc.indirect_types or type_key(ft) in host_by_type else None
        for t, ft in enumerate(module.types)]
    entries = [define_array_entry(mc, t) for t in range(len(module.types))]
    py_entries = [define_python_entry(mc, pyapi, ft, t, entries[t]) if has_python_entry(ft) else None
                  for t, ft in enumerate(module.types)]
    init = define_init(mc, wasm_calls)
    py_unchecked = define_unchecked_entry(mc, pyapi)
    text_end = mc.text_marker("aot_text_end")  # defined last: code ends here
    fault = None
    if faulthandler.supports(triple):  # after text_end: not itself wasm code
        fault = faulthandler.declare_fault_handler(
            mc.ir, mc.intrinsic("llvm.eh.sjlj.longjmp", VOID, [PTR]))
    _define_vtable(mc, sizes, init, host_trampolines, host_by_type_index,
                   entries, text_end, pyapi.table, py_entries, py_unchecked, fault)


def _relative(target, table: ir.GlobalVariable) -> ir.Constant:
    """`target`'s address as an offset from `table` (0 for null): fixed when linking, as
    a PC-relative relocation, so the artifact needs no relocation at load
    (`aot.abi.artifact`)."""
    if target is None or (isinstance(target, ir.Constant) and target.constant is None):
        return ir.Constant(I64, 0)
    return target.ptrtoint(I64).sub(table.ptrtoint(I64))


def _pointer_array(mc: ModuleContext, name: str, fns: list) -> ir.GlobalVariable:
    ty = ir.ArrayType(I64, len(fns))
    g = ir.GlobalVariable(mc.ir, ty, name=name)
    g.linkage = "private"
    g.global_constant = True
    g.initializer = ir.Constant(ty, [_relative(f, g) for f in fns])
    return g


def _define_vtable(mc, sizes: dict[str, int], init, host_trampolines, host_by_type_index,
                   entries, text_end, pyapi_table, py_entries, py_unchecked, fault) -> None:
    def blob(symbol: str) -> ir.Value:
        return mc.blob(symbol) if symbol in sizes else ir.Constant(PTR, None)

    func_types = ir.GlobalVariable(mc.ir, ir.ArrayType(I32, len(mc.type_indices)), name="aot_func_types")
    func_types.linkage = "internal"
    func_types.global_constant = True
    func_types.initializer = ir.Constant(func_types.value_type, list(mc.type_indices))
    fields = {
        VTable.MAGIC: ir.Constant(I64, VTABLE_MAGIC),
        VTable.ABI_VERSION: ir.Constant(I64, ABI_VERSION),
        VTable.METADATA: blob(METADATA_SYMBOL),
        VTable.METADATA_LEN: ir.Constant(I64, sizes[METADATA_SYMBOL]),
        VTable.INIT: init,
        VTable.N_FUNCS: ir.Constant(I64, len(mc.type_indices)),
        VTable.FUNC_TYPES: func_types,
        VTable.N_IMPORTED_FUNCS: ir.Constant(I64, len(host_trampolines)),
        VTable.HOST_TRAMPOLINES: _pointer_array(mc, "aot_host_trampolines", host_trampolines),
        VTable.N_TYPES: ir.Constant(I64, len(entries)),
        VTable.ENTRIES: _pointer_array(mc, "aot_entries", entries),
        VTable.TEXT_BEGIN: mc.text_begin,
        VTable.TEXT_END: text_end,
        VTable.NAMES: blob(NAMES_SYMBOL),
        VTable.NAMES_LEN: ir.Constant(I64, sizes[NAMES_SYMBOL]),
        VTable.MEMORY_IMAGE: blob(MEMORY_IMAGE_SYMBOL),
        VTable.MEMORY_IMAGE_LEN: ir.Constant(I64, sizes.get(MEMORY_IMAGE_SYMBOL, 0)),
        VTable.MEMORY_IMAGE_RUNS: blob(MEMORY_IMAGE_RUNS_SYMBOL),
        VTable.N_MEMORY_IMAGE_RUNS: ir.Constant(I64, sizes.get(MEMORY_IMAGE_RUNS_SYMBOL, 0) // 16),
        VTable.CODE_OFFSETS: blob(CODE_OFFSETS_SYMBOL),
        VTable.PY_API: pyapi_table,
        VTable.PY_ENTRIES: _pointer_array(mc, "aot_py_entries", py_entries),
        VTable.PY_UNCHECKED: py_unchecked,
        VTable.HOST_TRAMPOLINES_BY_TYPE: _pointer_array(mc, "aot_host_trampolines_by_type",
                                                        host_by_type_index),
        VTable.FAULT_HANDLER: fault[0] if fault else ir.Constant(PTR, None),
        VTable.FAULT_STATE: fault[1] if fault else ir.Constant(PTR, None),
    }
    ty = ir.ArrayType(I64, VTable.SIZE)
    vt = ir.GlobalVariable(mc.ir, ty, name=VTABLE_SYMBOL)
    vt.global_constant = True
    # Protected, so not preemptible (llvmlite prints `storage_class` where LLVM takes
    # the visibility): offsets to it and from it are link-time constants, for any
    # linker, and LLVM puts it in .rodata rather than .data.rel.ro.
    vt.storage_class = "protected"
    vt.initializer = ir.Constant(ty, [
        fields[i] if fields[i].type == I64 else _relative(fields[i], vt) for i in range(VTable.SIZE)])
    _define_vtable_note(mc, vt)


def _define_vtable_note(mc: ModuleContext, vt: ir.GlobalVariable) -> None:
    """The ELF note that tells the loader where the vtable is (`aot.abi.artifact`): it
    lies at the start of the file, among the bytes read with the headers, so loading
    needs no symbol lookup."""
    name = VTABLE_NOTE_NAME + b"\0"
    ty = ir.LiteralStructType([I32, I32, I32, ir.ArrayType(I8, len(name)), I64])
    note = ir.GlobalVariable(mc.ir, ty, name="aot_vtable_note")
    note.linkage = "internal"
    note.global_constant = True
    note.section = VTABLE_NOTE_SECTION
    note.align = 8
    note.initializer = ir.Constant(ty, [
        ir.Constant(I32, len(name)), ir.Constant(I32, 8), ir.Constant(I32, NT_AOT_VTABLE),
        ir.Constant(ty.elements[3], bytearray(name)), _relative(vt, note)])
    # llvm.compiler.used, not llvm.used: LLVM's ELF lowering remembers llvm.used globals
    # in a set its TargetMachine keeps across modules, never cleared, so a later module's
    # global allocated at a freed note's address was marked SHF_GNU_RETAIN and given a
    # section of its own (1 compile in 11 in a long-lived process: artifacts not
    # byte-identical).  Nothing in the link collects garbage sections, so the optimizer's
    # keeping it is all the note needs.
    used = ir.GlobalVariable(mc.ir, ir.ArrayType(PTR, 1), name="llvm.compiler.used")
    used.linkage = "appending"
    used.section = "llvm.metadata"
    used.initializer = ir.Constant(used.value_type, [note])
