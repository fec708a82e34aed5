"""Output sections and their placement into loadable segments.

Input sections are gathered into output sections by name, as ld's default linker script
does (`.text.unlikely.` goes into `.text`, `.rodata.cst16` into `.rodata`, ...).  Each
allocated output section belongs to one of four segments, mapped with the permissions
its contents need and nothing more:

    R      headers, dynamic symbol tables, .rela.dyn, .rodata, .eh_frame_hdr, .eh_frame
    RX     .text
    RELRO  .data.rel.ro, .dynamic, .got: written by the dynamic loader's relocations,
           then made read-only (PT_GNU_RELRO)
    RW     .data, .bss

Segments are laid out back to back in the file; in memory each starts on a new page,
at the address congruent to its file offset modulo the page size (what mmap needs),
so the file carries no page-sized padding."""

from __future__ import annotations

from dataclasses import dataclass, field

from aot.codegen.elfwriter.constants import (
    EHDR_SIZE,
    PF_R,
    PF_W,
    PF_X,
    PHDR_SIZE,
    SHF_ALLOC,
    SHF_EXCLUDE,
    SHF_EXECINSTR,
    SHF_GROUP,
    SHF_INFO_LINK,
    SHF_LINK_ORDER,
    SHF_MERGE,
    SHF_STRINGS,
    SHF_TLS,
    SHF_WRITE,
    SHT_FINI_ARRAY,
    SHT_GROUP,
    SHT_INIT_ARRAY,
    SHT_LLVM_ADDRSIG,
    SHT_NOBITS,
    SHT_NOTE,
    SHT_NULL,
    SHT_PREINIT_ARRAY,
    SHT_REL,
    SHT_RELA,
    SHT_STRTAB,
    SHT_SYMTAB,
    SHT_SYMTAB_SHNDX,
)
from aot.codegen.elfwriter.objfile import InputSection
from aot.errors import AotError


class LayoutError(AotError):
    """An input section cannot be placed in a shared object."""

R, RX, RELRO, RW = "R", "RX", "RELRO", "RW"
SEGMENTS = (R, RX, RELRO, RW)
SEGMENT_FLAGS = {R: PF_R, RX: PF_R | PF_X, RELRO: PF_R | PF_W, RW: PF_R | PF_W}

# Input section name prefixes gathered into one output section (`.text` takes `.text`
# and `.text.*`).  Longest first: `.data.rel.ro.x` must not land in `.data`.
_GATHERED = (".data.rel.ro", ".init_array", ".fini_array", ".rodata", ".text", ".data", ".bss")
# Writable sections that only the dynamic loader writes: read-only after relocation.
_RELRO_NAMES = frozenset({".data.rel.ro", ".init_array", ".fini_array", ".dynamic", ".got"})
# Placement within a segment; unnamed sections come after the named ones, in input order.
_ORDER = {
    ".dynsym": 0, ".gnu.hash": 1, ".dynstr": 2, ".rela.dyn": 3, ".rodata": 4,
    ".eh_frame_hdr": 90, ".eh_frame": 91,
    ".text": 0, ".plt.got": 60,
    ".data.rel.ro": 0, ".init_array": 1, ".fini_array": 2, ".dynamic": 90, ".got": 91,
    ".data": 0,
}
_DEFAULT_ORDER = 50


# Legacy constructor tables (LLVM emits .ctors unless told to use .init_array) run
# from DT_INIT_ARRAY, as ld's default script arranges.
_RENAMED = {".ctors": ".init_array", ".dtors": ".fini_array"}
_ARRAY_TYPES = {".init_array": SHT_INIT_ARRAY, ".fini_array": SHT_FINI_ARRAY}


def output_name(name: str) -> str:
    for prefix in _GATHERED + tuple(_RENAMED):
        if name == prefix or name.startswith(prefix + "."):
            return _RENAMED.get(prefix, prefix)
    return name


@dataclass(eq=False)
class OutputSection:
    name: str
    type: int
    flags: int
    addralign: int = 1
    entsize: int = 0
    data: bytearray = field(default_factory=bytearray)
    nobits_size: int = 0  # the size of a SHT_NOBITS section, which has no data
    link: OutputSection | None = None
    info: int = 0
    relro: bool = False
    # Assigned by `place`, then by the writer (index):
    addr: int = 0
    offset: int = 0
    index: int = 0

    @property
    def size(self) -> int:
        return self.nobits_size if self.type == SHT_NOBITS else len(self.data)

    @property
    def segment(self) -> str | None:
        if not self.flags & SHF_ALLOC:
            return None
        if self.flags & SHF_EXECINSTR:
            return RX
        if self.flags & SHF_WRITE:
            return RELRO if self.relro else RW
        return R

    def make_relro(self) -> None:
        """Move a read-only section that needs load-time relocations to RELRO: writable
        while the dynamic loader relocates it, read-only afterwards (no DT_TEXTREL)."""
        self.flags |= SHF_WRITE
        self.relro = True

    def sort_key(self) -> tuple[int, int]:
        # Notes first, so one PT_NOTE covers them; NOBITS last, so they fit no file bytes.
        if self.type == SHT_NOTE:
            return (-1, 0)
        if self.type == SHT_NOBITS:
            return (99, 0)
        return (_ORDER.get(self.name, _DEFAULT_ORDER), 0)


def is_relro_name(name: str) -> bool:
    return name in _RELRO_NAMES


@dataclass
class Segment:
    kind: str
    sections: list[OutputSection]
    offset: int = 0
    vaddr: int = 0
    filesz: int = 0
    memsz: int = 0

    @property
    def flags(self) -> int:
        return SEGMENT_FLAGS[self.kind]


def align_up(value: int, alignment: int) -> int:
    return (value + alignment - 1) // alignment * alignment


def place(sections: list[OutputSection], n_phdrs: int, page_size: int) -> tuple[list[Segment], int]:
    """Assign addresses and file offsets to `sections` (allocated ones first, in the
    order given, which must be grouped by segment).  Returns the PT_LOAD segments and
    the file offset where the section header table can go."""
    groups: dict[str, list[OutputSection]] = {kind: [] for kind in SEGMENTS}
    others: list[OutputSection] = []
    for sec in sections:
        (groups[sec.segment] if sec.segment else others).append(sec)

    offset = addr = EHDR_SIZE + n_phdrs * PHDR_SIZE
    segments: list[Segment] = []
    for kind in SEGMENTS:
        secs = groups[kind]
        if not secs and kind != R:  # R always exists: it maps the ELF and program headers
            continue
        if segments:
            # A new page, congruent to the file offset: mmap maps whole pages.
            addr = align_up(addr, page_size) + offset % page_size
        seg = Segment(kind, secs, offset=offset, vaddr=addr)
        if kind == R:
            seg.offset = seg.vaddr = 0
        for sec in secs:
            pad = -addr % sec.addralign
            addr += pad
            if sec.type != SHT_NOBITS:
                offset += pad
            sec.addr, sec.offset = addr, offset
            addr += sec.size
            if sec.type != SHT_NOBITS:
                offset += sec.size
        if secs and kind != R:
            seg.offset, seg.vaddr = secs[0].offset, secs[0].addr
        if kind == RELRO:
            # glibc protects whole pages only (it rounds the end of PT_GNU_RELRO down):
            # pad the segment to a page boundary in memory, as lld's .relro_padding does.
            addr = align_up(addr, page_size)
        seg.memsz = addr - seg.vaddr
        seg.filesz = offset - seg.offset
        segments.append(seg)

    for sec in others:
        offset = align_up(offset, sec.addralign)
        sec.addr, sec.offset = 0, offset
        if sec.type != SHT_NOBITS:
            offset += sec.size
    return segments, align_up(offset, 8)


# Input sections the output does not keep: tables the writer rebuilds (.symtab, .strtab,
# relocations), section groups (there is one object: nothing to deduplicate), address-
# significance tables for ICF, and .note.GNU-stack (it becomes PT_GNU_STACK).
_DROPPED_TYPES = frozenset({
    SHT_NULL, SHT_SYMTAB, SHT_RELA, SHT_REL, SHT_GROUP, SHT_SYMTAB_SHNDX,
    SHT_LLVM_ADDRSIG,
})
# Flags that describe input sections only (groups, link order, info links).  SHF_MERGE
# and SHF_STRINGS stay when every input agrees on them and on sh_entsize.
_INPUT_ONLY_FLAGS = SHF_INFO_LINK | SHF_LINK_ORDER | SHF_GROUP
_MERGE_FLAGS = SHF_MERGE | SHF_STRINGS


# Sections LLVM marks allocated that the artifact keeps as file-only data, their
# relocations resolved at link time like DWARF's: the loader reads them from the file
# (adding the load base), so they need no dynamic relocation (`aot.abi.artifact`).
UNLOADED_SECTIONS = frozenset({".llvm_stackmaps"})


def _flags(sec: InputSection) -> int:
    flags = sec.flags & ~_INPUT_ONLY_FLAGS
    return flags & ~SHF_ALLOC if sec.name in UNLOADED_SECTIONS else flags


def is_dropped(sec: InputSection) -> bool:
    if sec.type == SHT_STRTAB:
        return not sec.flags & SHF_ALLOC  # .strtab, .shstrtab
    return (sec.type in _DROPPED_TYPES or sec.name == ".note.GNU-stack"
            or bool(sec.flags & SHF_EXCLUDE))


def gather(inputs: list[InputSection]) -> tuple[list[OutputSection], dict[int, tuple[OutputSection, int]]]:
    """Concatenate input sections into output sections.  Returns the output sections in
    order of first appearance, and where each kept input section went: its index ->
    (output section, offset in it)."""
    outputs: dict[str, OutputSection] = {}
    where: dict[int, tuple[OutputSection, int]] = {}
    kinds: dict[str, set[tuple[int, int]]] = {}  # output name -> {(merge flags, entsize)}
    for sec in inputs:
        if is_dropped(sec):
            continue
        if sec.flags & SHF_TLS:
            raise LayoutError(f"thread-local section {sec.name}: TLS is not supported")
        if sec.type == SHT_PREINIT_ARRAY:
            raise LayoutError(f"{sec.name}: .preinit_array is not allowed in a shared object")
        flags = _flags(sec)
        name = output_name(sec.name) if flags & SHF_ALLOC else sec.name
        out = outputs.get(name)
        if out is None:
            out = outputs[name] = OutputSection(
                name, _ARRAY_TYPES.get(name, sec.type), flags,
                sec.addralign, relro=is_relro_name(name),
            )
        else:
            out.flags |= flags
            out.addralign = max(out.addralign, sec.addralign)
            if out.type == SHT_NOBITS and sec.type != SHT_NOBITS:
                # Mixed: the output needs file bytes; the NOBITS parts become zeros.
                out.type, out.data, out.nobits_size = sec.type, bytearray(out.nobits_size), 0
        kinds.setdefault(name, set()).add((sec.flags & _MERGE_FLAGS, sec.entsize))
        if out.type == SHT_NOBITS:
            offset = align_up(out.nobits_size, sec.addralign)
            out.nobits_size = offset + sec.size
        else:
            offset = align_up(len(out.data), sec.addralign)
            out.data += bytes(offset - len(out.data))
            out.data += bytes(sec.size) if sec.type == SHT_NOBITS else sec.data
        where[sec.index] = (out, offset)
    for name, out in outputs.items():
        if len(kinds[name]) == 1:
            out.entsize = next(iter(kinds[name]))[1]
        else:  # e.g. .rodata and .rodata.cst16: a plain section
            out.flags &= ~_MERGE_FLAGS
            out.entsize = 0
    return list(outputs.values()), where
