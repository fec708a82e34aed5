"""What an artifact (the compiled ELF shared object) contains, as the loader sees it.

The artifact exports exactly one dynamic symbol, `aot_vtable`, an array of 64-bit words:

    [0] VTABLE_MAGIC              [1] ABI_VERSION
    [2] metadata: const char*     [3] metadata length in bytes
    [4] init: uint32_t (*)(void *vmctx)              (see `aot.abi.signatures`)
    [5] n_funcs                   [6] u32 type index of every function (imports first)
    [7] n_imported_funcs          [8] host-call trampolines, one per imported function
    [9] n_types                   [10] array-entry trampolines, one per module type
    [11] text_begin               [12] text_end: the compiled code lies in [begin, end),
                                      for the guard-page fault handler
    [13] names: const char*       [14] length: JSON {"function index": "name"} from the
                                      name section, read only for backtraces
    [15] memory image: the non-zero pages of memory 0's initial contents, packed,
         page-aligned, or null
    [16] memory image length in bytes (a multiple of MEMORY_IMAGE_ALIGN), or 0
    [17] py_api: the writable CPython function table the loader fills (`aot.abi.pyapi`)
    [18] Python entries: one `METH_FASTCALL` function per module type, or null where
         the type has values other than numbers
    [19] the unchecked Python entry (`aot.abi.pyapi`)
    [20] host-call trampolines by type index (`n_types` pointers, equal types share
         one): for each type that call_indirect names or an imported function has,
         else null.  What a host function of that type needs for a VMFuncRef of its
         own, e.g. to sit in a table without having been imported
    [21] the guard-page fault handler `void (int, siginfo_t *, void *)`, or null
         (non-x86-64 targets): see `aot.abi.faults`
    [22] the handler's `AotFaultState **`, written by the loader that installs it
    [23] memory image runs: `n` pairs of u64 (offset in memory 0, length), page-aligned,
         in address order; run k's pages follow run k-1's in the image
    [24] n memory image runs
    [25] code offsets: one u32 per defined function, the file offset of its body in the
         wasm; compiled code counts offsets from there (`aot.abi.traps.trap_site`), and
         backtraces add them back

The memory image (wasmtime's "memory images"): when a module defines memory 0 and all
its active data segments have constant offsets within the initial size, the compiler
stores the initial contents once, page-aligned, and the init function does not copy
those segments; the loader maps the image copy-on-write into each instance's memory
instead (no copy, no page touched until wasm uses it).  The image is sparse: pages of
zeros are neither stored nor mapped, so a module whose data sits above a large stack
costs its data, not its span.  The image and the other bulk bytes (metadata, names,
passive data segments) are written into the artifact by the ELF writer directly; they
never pass through LLVM.

Pointers are offsets (wasmtime's "no relocations left at load"): each address word
(`ADDRESS_WORDS`) holds its target's address less the vtable's, and each entry of the
tables it points to (words 8, 10, 18, 20) its target's address less the table's; 0 is
null.  The linker fixes them, so the artifact has no dynamic relocation, and the
loader maps it with a few `mmap`s, without the dynamic loader (`aot.loader.mapping`).

The loader finds the vtable through an ELF note at the start of the file (section
`VTABLE_NOTE_SECTION`, its own PT_NOTE): name `VTABLE_NOTE_NAME`, type `NT_AOT_VTABLE`,
and as descriptor one i64, the vtable's address less the note's.  It lies among the
bytes read with the program headers.  `aot_vtable` stays the one dynamic symbol, for
`dlopen` + `dlsym` (`AOT_LOADER=dlopen`) and other tools.

The metadata is UTF-8 JSON
following `METADATA_SCHEMA` below: everything the loader needs to instantiate the module
without re-reading the wasm.
"""

from __future__ import annotations

VTABLE_SYMBOL = "aot_vtable"
VTABLE_MAGIC = 0x4C42_5456_544F_4130  # "0AOTVTBL"
VTABLE_NOTE_SECTION = ".note.aot"
VTABLE_NOTE_NAME = b"aot"
NT_AOT_VTABLE = 1
ABI_VERSION = 13


class VTable:
    MAGIC = 0
    ABI_VERSION = 1
    METADATA = 2
    METADATA_LEN = 3
    INIT = 4
    N_FUNCS = 5
    FUNC_TYPES = 6
    N_IMPORTED_FUNCS = 7
    HOST_TRAMPOLINES = 8
    N_TYPES = 9
    ENTRIES = 10
    TEXT_BEGIN = 11
    TEXT_END = 12
    NAMES = 13
    NAMES_LEN = 14
    MEMORY_IMAGE = 15
    MEMORY_IMAGE_LEN = 16
    PY_API = 17
    PY_ENTRIES = 18
    PY_UNCHECKED = 19
    HOST_TRAMPOLINES_BY_TYPE = 20
    FAULT_HANDLER = 21
    FAULT_STATE = 22
    MEMORY_IMAGE_RUNS = 23
    N_MEMORY_IMAGE_RUNS = 24
    CODE_OFFSETS = 25
    SIZE = 26


# The vtable words that hold an address (as an offset from the vtable); the others are
# numbers.
ADDRESS_WORDS = frozenset({
    VTable.METADATA, VTable.INIT, VTable.FUNC_TYPES, VTable.HOST_TRAMPOLINES, VTable.ENTRIES,
    VTable.TEXT_BEGIN, VTable.TEXT_END, VTable.NAMES, VTable.MEMORY_IMAGE, VTable.PY_API,
    VTable.PY_ENTRIES, VTable.PY_UNCHECKED, VTable.HOST_TRAMPOLINES_BY_TYPE,
    VTable.FAULT_HANDLER, VTable.FAULT_STATE, VTable.MEMORY_IMAGE_RUNS, VTable.CODE_OFFSETS,
})


MEMORY_IMAGE_ALIGN = 4096  # the page size the image is mapped with

# Symbols of the bulk bytes the ELF writer adds (`aot.codegen.elfwriter.Blob`); the code
# and the vtable refer to them, LLVM never sees their contents.
METADATA_SYMBOL = "aot_metadata"
NAMES_SYMBOL = "aot_names"
MEMORY_IMAGE_SYMBOL = "aot_memory_image"
MEMORY_IMAGE_RUNS_SYMBOL = "aot_memory_image_runs"
CODE_OFFSETS_SYMBOL = "aot_code_offsets"
# The module's wasm bytes, in artifacts compiled with `embed_wasm`: found by this symbol
# with any ELF reader, so that an artifact of another aot version can still be rebuilt.
WASM_SYMBOL = "aot_wasm"


def data_segment_symbol(index: int) -> str:
    """The bytes of passive or non-imaged data segment `index`."""
    return f"aot_data{index}"


# Metadata schema (JSON), compact: it is parsed at every load.  Value types are spelled
# as in the text format ("i32", ...).  The compile options are in the fingerprint.
METADATA_SCHEMA = {
    "abi_version": "int, == ABI_VERSION",
    "types": "a signature per type index: params, '>', results, each list space-separated\n"
             "('i32 i32>i64'; '>' for none)",
    "imports": "[module, name, kind, type] in order, kind func|table|memory|global; type is\n"
               "a type index, [elem, min, max], a memory as in memories or [valtype, mutable]\n"
               "by kind",
    "n_funcs": "functions in the index space (imports first); their type indices are the\n"
               "vtable's FUNC_TYPES array, their names the NAMES blob (read lazily)",
    "tables": "[elem, min, max] per defined table (max null: none)",
    "memories": "[min, max] per defined memory, [min, max, flags] for a 64-bit or shared\n"
                "one, flags 'i64', 'shared' or 'i64 shared'",
    "globals": "[valtype, mutable] per defined global",
    "exports": "{name: [kind, index]}, in the module's order",
    "start": "function index or null",
    "name": "the module's name from the name section, or null",
    "segments": "[data segments, element segments, items of passive element segments]",
}
