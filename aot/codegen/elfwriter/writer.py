"""Relocatable object -> shared object: the pipeline, and the parts of the file that
describe the rest (ELF header, program headers, section headers, .symtab, .strtab,
.shstrtab).

    read (objfile) -> gather input sections into output sections (layout)
    -> scan relocations: GOT slots, relaxations, load-time relocations (relocate)
    -> add the dynamic-linking sections (dynamic) and .eh_frame_hdr (ehframe)
    -> place everything (layout) -> apply relocations, fill the tables -> encode

Deterministic by construction: every table is built in input order or sorted, and
nothing depends on the time, the environment or paths."""

from __future__ import annotations

import struct
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from aot.codegen.elfwriter import ehframe
from aot.codegen.elfwriter.constants import (
    DT_FINI_ARRAY,
    DT_FINI_ARRAYSZ,
    DT_GNU_HASH,
    DT_INIT_ARRAY,
    DT_INIT_ARRAYSZ,
    DT_NULL,
    DT_RELA,
    DT_RELACOUNT,
    DT_RELAENT,
    DT_RELASZ,
    DT_STRSZ,
    DT_STRTAB,
    DT_SYMENT,
    DT_SYMTAB,
    DYN_SIZE,
    ELFCLASS64,
    ELFDATA2LSB,
    ET_DYN,
    EV_CURRENT,
    PF_R,
    PF_W,
    PHDR_SIZE,
    PT_DYNAMIC,
    PT_GNU_EH_FRAME,
    PT_GNU_PROPERTY,
    PT_GNU_RELRO,
    PT_GNU_STACK,
    PT_LOAD,
    PT_NOTE,
    RELA_SIZE,
    SHDR_SIZE,
    SHF_ALLOC,
    SHF_EXECINSTR,
    SHF_WRITE,
    SHN_ABS,
    SHN_UNDEF,
    SHT_DYNAMIC,
    SHT_DYNSYM,
    SHT_GNU_HASH,
    SHT_NOBITS,
    SHT_NOTE,
    SHT_PROGBITS,
    SHT_RELA,
    SHT_STRTAB,
    SHT_SYMTAB,
    STB_GLOBAL,
    STB_LOCAL,
    STB_WEAK,
    STT_SECTION,
    STV_DEFAULT,
    STV_PROTECTED,
    SYM_SIZE,
)
from aot.codegen.elfwriter.dynamic import (
    DynamicRelocations,
    DynamicSymbol,
    DynamicSymbols,
    encode_dynamic,
)
from aot.codegen.elfwriter.layout import (
    RELRO,
    SEGMENTS,
    LayoutError,
    OutputSection,
    R,
    gather,
    place,
)
from aot.codegen.elfwriter.merge import Blob, blob_object, merge_objects
from aot.codegen.elfwriter.objfile import ObjectFile, Symbol, is_special_index, read_object
from aot.codegen.elfwriter.relocate import MACHINES, Relocator, Target
from aot.codegen.elfwriter.strtab import StringTable
from aot.errors import AotError

_EHDR = struct.Struct("<16sHHIQQQIHHHHHH")
_PHDR = struct.Struct("<IIQQQQQQ")
_SHDR = struct.Struct("<IIQQQQIIQQ")
_SYM = struct.Struct("<IBBHQQ")

# Names of the sections the writer makes itself; an input section may not use them.
_SYNTHESIZED = frozenset({
    ".dynsym", ".dynstr", ".gnu.hash", ".rela.dyn", ".got", ".plt.got", ".eh_frame_hdr", ".dynamic",
    ".symtab", ".strtab", ".shstrtab",
})


class UndefinedSymbolError(AotError):
    """The object refers to symbols it does not define.  Compiled code reaches the
    runtime only through the VMContext's builtin table, so this is a code generator bug."""

    def __init__(self, names: list[str]):
        self.names = names
        super().__init__(
            "undefined symbol" + ("s" if len(names) > 1 else "") + " in the compiled object: "
            + ", ".join(names)
            + " (compiled code must reach the runtime through the VMContext builtin table)"
        )


# Undefined symbols the output may import from the process.  None: compiled code reaches
# libc (memmove, memset, memcpy) only through the VMContext builtin table, and functions
# carry "no-builtins" so LLVM creates no library calls of its own.  Any undefined
# symbol is an error naming it.
LIBC_IMPORTS: frozenset[str] = frozenset()


def write_shared_object(objects: bytes | Sequence[bytes],
                        allowed_imports: Collection[str] = LIBC_IMPORTS,
                        blobs: Sequence[Blob] = ()) -> bytes:
    """Link ELF relocatable objects (x86-64 or AArch64, PIC), and `blobs` as read-only
    data, into a shared object whose dynamic symbols are the default-visibility global
    symbols, plus the undefined ones named in `allowed_imports`."""
    if isinstance(objects, (bytes, bytearray, memoryview)):
        objects = [objects]
    inputs = [read_object(o) for o in objects]
    if blobs:
        first = inputs[0]
        inputs.append(blob_object(first.machine, first.osabi, first.flags, blobs))
    return _Writer(merge_objects(inputs), allowed_imports).write()


def _is_exported(sym: Symbol) -> bool:
    return (sym.bind in (STB_GLOBAL, STB_WEAK) and sym.shndx != SHN_UNDEF
            and sym.visibility in (STV_DEFAULT, STV_PROTECTED))


@dataclass
class _Program:
    """A non-PT_LOAD program header, tied to the section it describes."""

    type: int
    flags: int
    section: OutputSection


class _Writer:
    """One link.  `write` runs the phases in order; each sets the attributes the later
    ones use."""

    def __init__(self, obj: ObjectFile, allowed_imports: Collection[str]):
        self.obj = obj
        self.machine = MACHINES[obj.machine]
        self.imports = [i for i, s in enumerate(obj.symbols) if i and s.shndx == SHN_UNDEF]
        self._imported = frozenset(self.imports)
        undefined = [obj.symbols[i].name for i in self.imports
                     if obj.symbols[i].name not in allowed_imports]
        if undefined:
            raise UndefinedSymbolError(undefined)

    def _is_absolute(self, index: int) -> bool:
        return index == 0 or self.obj.symbols[index].shndx == SHN_ABS

    def _is_imported(self, index: int) -> bool:
        return index in self._imported

    def write(self) -> bytes:
        for s in self.obj.symbols[1:]:
            if s.shndx != SHN_ABS and is_special_index(s.shndx):
                raise AotError(f"symbol {s.name}: common symbols are not supported (section "
                               f"index 0x{s.shndx:x})")
        self._gather()
        self._scan_relocations()
        self._make_dynamic_sections()
        self._order_sections()
        self._place()
        self._fill()
        return self._encode()

    # --- the phases, in order -----------------------------------------------------------

    def _gather(self) -> None:
        self.outputs, self.where = gather(self.obj.sections)
        for out in self.outputs:
            if out.name in _SYNTHESIZED:
                raise LayoutError(f"the object has a section named {out.name}, which the writer makes")
        self.named = {out.name: out for out in self.outputs if out.flags & SHF_ALLOC}
        self.eh_frame = self.named.get(".eh_frame")
        if self.eh_frame is not None:
            self.eh_frame.data += ehframe.TERMINATOR

    def _scan_relocations(self) -> None:
        obj = self.obj
        self.relocator = Relocator(self.machine, self._is_absolute, self._is_imported)
        for target in sorted(obj.relocations):
            placed = self.where.get(target)
            if placed is not None:  # else the relocations of a dropped section
                self.relocator.scan(placed[0], placed[1], obj.relocations[target],
                                    f"section {obj.sections[target].name}")

    def _make_dynamic_sections(self) -> None:
        """The sections the dynamic loader reads, and .got, .plt.got, .eh_frame_hdr: with
        their final sizes now, their contents once addresses are known (`_fill`)."""
        obj, relocator = self.obj, self.relocator
        self.exports = [i for i, s in enumerate(obj.symbols) if i and _is_exported(s)]
        self.dynsyms = DynamicSymbols([obj.symbols[i].name for i in self.exports],
                                      [obj.symbols[i].name for i in self.imports])
        self.dynstr = OutputSection(".dynstr", SHT_STRTAB, SHF_ALLOC, 1,
                                    data=bytearray(self.dynsyms.strtab.bytes()))
        self.dynsym = OutputSection(".dynsym", SHT_DYNSYM, SHF_ALLOC, 8, SYM_SIZE,
                                    bytearray(self.dynsyms.dynsym_size), link=self.dynstr, info=1)
        gnu_hash = OutputSection(".gnu.hash", SHT_GNU_HASH, SHF_ALLOC, 8,
                                 data=bytearray(self.dynsyms.gnu_hash), link=self.dynsym)
        self.synthesized = [self.dynsym, gnu_hash, self.dynstr]
        self.n_relative = relocator.n_relative()
        self.n_dynamic = self.n_relative + relocator.n_symbolic()
        self.rela = self.got = self.stubs = self.hdr = None
        if self.n_dynamic:
            self.rela = self._synthesize(".rela.dyn", SHT_RELA, SHF_ALLOC, 8, RELA_SIZE,
                                         self.n_dynamic * RELA_SIZE, link=self.dynsym)
        if relocator.got_slots:
            self.got = self._synthesize(".got", SHT_PROGBITS, SHF_ALLOC | SHF_WRITE, 8, 8,
                                        8 * len(relocator.got_slots), relro=True)
        if relocator.stubs:
            self.stubs = self._synthesize(".plt.got", SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, 16,
                                          0, self.machine.stub_size * len(relocator.stubs))
        if self.eh_frame is not None:
            self.hdr = self._synthesize(".eh_frame_hdr", SHT_PROGBITS, SHF_ALLOC, 4, 0,
                                        ehframe.hdr_size(ehframe.count_fdes(self.eh_frame.data)))
        self.dynamic_tags = [
            (DT_GNU_HASH, lambda: gnu_hash.addr), (DT_STRTAB, lambda: self.dynstr.addr),
            (DT_SYMTAB, lambda: self.dynsym.addr), (DT_STRSZ, lambda: self.dynstr.size),
            (DT_SYMENT, lambda: SYM_SIZE),
        ]
        if self.rela is not None:
            self.dynamic_tags += [(DT_RELA, lambda: self.rela.addr), (DT_RELASZ, lambda: self.rela.size),
                                  (DT_RELAENT, lambda: RELA_SIZE)]
        if self.n_relative:
            self.dynamic_tags.append((DT_RELACOUNT, lambda: self.n_relative))
        for name, tag, size_tag in ((".init_array", DT_INIT_ARRAY, DT_INIT_ARRAYSZ),
                                    (".fini_array", DT_FINI_ARRAY, DT_FINI_ARRAYSZ)):
            if name in self.named:
                sec = self.named[name]
                self.dynamic_tags += [(tag, lambda sec=sec: sec.addr), (size_tag, lambda sec=sec: sec.size)]
        self.dynamic_tags.append((DT_NULL, lambda: 0))
        self.dynamic = self._synthesize(".dynamic", SHT_DYNAMIC, SHF_ALLOC | SHF_WRITE, 8, DYN_SIZE,
                                        len(self.dynamic_tags) * DYN_SIZE, link=self.dynstr,
                                        relro=True)

    def _synthesize(self, name: str, sh_type: int, flags: int, align: int, entsize: int,
                    size: int, link: OutputSection | None = None, relro: bool = False) -> OutputSection:
        sec = OutputSection(name, sh_type, flags, align, entsize, bytearray(size), link=link,
                            relro=relro)
        self.synthesized.append(sec)
        return sec

    def _order_sections(self) -> None:
        """Allocated sections by segment (then by name rank, then creation order), then the
        others; section indexes follow this order."""
        every = self.synthesized + self.outputs
        created = {id(s): i for i, s in enumerate(every)}
        self.allocated = sorted(
            (s for s in every if s.flags & SHF_ALLOC),
            key=lambda s: (SEGMENTS.index(s.segment), s.sort_key(), created[id(s)]),
        )
        self.symtab, self.strtab, self.symtab_entries = self._symtab_layout()
        self.shstrtab = OutputSection(".shstrtab", SHT_STRTAB, 0, 1)
        self.sections = (self.allocated + [s for s in self.outputs if not s.flags & SHF_ALLOC]
                         + [self.symtab, self.strtab, self.shstrtab])
        names = StringTable()
        self.name_offsets = [names.add(s.name) for s in self.sections]
        self.shstrtab.data = bytearray(names.bytes())
        for index, sec in enumerate(self.sections, 1):
            sec.index = index

    def _place(self) -> None:
        programs = [_Program(PT_DYNAMIC, PF_R | PF_W, self.dynamic)]
        programs += [_Program(PT_NOTE, PF_R, s) for s in self.allocated if s.type == SHT_NOTE]
        programs += [_Program(PT_GNU_PROPERTY, PF_R, s) for s in self.allocated
                     if s.name == ".note.gnu.property" and s.type == SHT_NOTE]
        if self.hdr is not None:
            programs.append(_Program(PT_GNU_EH_FRAME, PF_R, self.hdr))
        self.programs = programs
        kinds = {s.segment for s in self.allocated} | {R}  # R: the headers are always mapped
        n_phdrs = len(kinds) + len(programs) + 1 + (RELRO in kinds)  # + PT_GNU_STACK, RELRO
        self.segments, self.shoff = place(self.sections, n_phdrs, self.machine.page_size)

    def _fill(self) -> None:
        """Addresses are final: resolve, relocate, and write the tables' contents."""
        obj, relocator = self.obj, self.relocator
        got_addr = self.got.addr if self.got is not None else 0
        targets = self._targets(relocator.stubs, self.stubs.addr if self.stubs is not None else 0)
        dynrel = DynamicRelocations(self.machine.relative_type, self.machine.glob_dat_type)
        relocator.apply(targets, got_addr, dynrel.add_relative)
        if self.got is not None:
            self.got.data[:] = relocator.got_contents(
                targets, got_addr, dynrel.add_relative,
                lambda offset, sym, addend: dynrel.add_glob_dat(
                    offset, self.dynsyms.index(obj.symbols[sym].name), addend))
        if self.stubs is not None:
            self.stubs.data[:] = relocator.stub_code(self.stubs.addr, got_addr)
        if self.rela is not None:
            assert len(dynrel) == self.n_dynamic and dynrel.n_relative == self.n_relative
            self.rela.data[:] = dynrel.encode()
        if self.hdr is not None:
            self.hdr.data[:] = ehframe.eh_frame_hdr(bytes(self.eh_frame.data), self.eh_frame.addr,
                                                    self.hdr.addr)
        self.dynsym.data[:] = self.dynsyms.dynsym({
            obj.symbols[i].name: self._dynamic_symbol(i, targets) for i in self.exports + self.imports})
        self.dynamic.data[:] = encode_dynamic([(tag, value()) for tag, value in self.dynamic_tags])
        self.symtab.data[:] = self._symtab(targets)

    def _dynamic_symbol(self, index: int, targets: list[Target | None]) -> DynamicSymbol:
        s = self.obj.symbols[index]
        info = (s.bind << 4) | s.type
        if index in self._imported:
            return DynamicSymbol(s.name, 0, 0, info, s.visibility, SHN_UNDEF)
        shndx = SHN_ABS if s.shndx == SHN_ABS else self.where[s.shndx][0].index
        return DynamicSymbol(s.name, targets[index].address, s.size, info, s.visibility, shndx)

    # --- .symtab ---------------------------------------------------------------------

    def _symtab_layout(self) -> tuple[OutputSection, OutputSection, list[tuple[int, int]]]:
        """.symtab keeps every named symbol of a kept section (functions with their sizes,
        for gdb and perf), locals first; hidden globals become locals, as with ld."""
        locals_, globals_ = [], []
        for index, sym in enumerate(self.obj.symbols):
            if index == 0 or sym.type == STT_SECTION:
                continue
            if index in self._imported:
                globals_.append(index)
                continue
            if sym.shndx != SHN_ABS and sym.shndx not in self.where:
                continue  # in a dropped section
            (globals_ if _is_exported(sym) else locals_).append(index)
        strtab = StringTable()
        names = {i: strtab.add(self.obj.symbols[i].name) for i in locals_ + globals_}
        strtab_sec = OutputSection(".strtab", SHT_STRTAB, 0, 1, data=bytearray(strtab.bytes()))
        symtab = OutputSection(".symtab", SHT_SYMTAB, 0, 8, SYM_SIZE,
                               bytearray((1 + len(names)) * SYM_SIZE), link=strtab_sec,
                               info=1 + len(locals_))
        return symtab, strtab_sec, [(i, names[i]) for i in locals_ + globals_]

    def _symtab(self, targets: list[Target | None]) -> bytes:
        out = [bytes(SYM_SIZE)]
        for index, name in self.symtab_entries:
            sym = self.obj.symbols[index]
            bind = sym.bind if _is_exported(sym) or index in self._imported else STB_LOCAL
            if index in self._imported:
                value, shndx = 0, SHN_UNDEF
            elif sym.shndx == SHN_ABS:
                value, shndx = sym.value, SHN_ABS
            else:
                value, shndx = targets[index].address, self.where[sym.shndx][0].index
            out.append(_SYM.pack(name, (bind << 4) | sym.type, sym.visibility, shndx, value, sym.size))
        return b"".join(out)

    def _targets(self, stubs: dict[int, int], stubs_addr: int) -> list[Target | None]:
        """Each symbol's address (by symbol index); None for those of dropped sections."""
        targets: list[Target | None] = []
        stub_size = self.machine.stub_size
        for index, sym in enumerate(self.obj.symbols):
            if index == 0:
                targets.append(Target(0, 0, absolute=True))
            elif sym.shndx == SHN_ABS:
                targets.append(Target(sym.value, sym.size, absolute=True))
            elif index in self._imported:
                address = stubs_addr + stub_size * stubs[index] if index in stubs else 0
                targets.append(Target(address, 0, imported=True))
            elif sym.shndx in self.where:
                out, offset = self.where[sym.shndx]
                targets.append(Target(out.addr + offset + sym.value, sym.size))
            else:
                targets.append(None)
        return targets

    # --- the file ----------------------------------------------------------------------

    def _encode(self) -> bytes:
        sections, segments, shoff = self.sections, self.segments, self.shoff
        phdrs = [
            _PHDR.pack(PT_LOAD, seg.flags, seg.offset, seg.vaddr, seg.vaddr, seg.filesz,
                       seg.memsz, self.machine.page_size)
            for seg in segments
        ]
        for prog in self.programs:
            s = prog.section
            phdrs.append(_PHDR.pack(prog.type, prog.flags, s.offset, s.addr, s.addr,
                                    s.size, s.size, s.addralign))
        phdrs.append(_PHDR.pack(PT_GNU_STACK, PF_R | PF_W, 0, 0, 0, 0, 0, 16))
        for seg in segments:
            if seg.kind == RELRO:
                # memsz reaches the page boundary (see layout.place), so all of it is protected.
                phdrs.append(_PHDR.pack(PT_GNU_RELRO, PF_R, seg.offset, seg.vaddr, seg.vaddr,
                                        seg.filesz, seg.memsz, 1))

        out = bytearray(shoff + SHDR_SIZE * (1 + len(sections)))
        ident = b"\x7fELF" + bytes([ELFCLASS64, ELFDATA2LSB, EV_CURRENT, self.obj.osabi])
        _EHDR.pack_into(out, 0, ident.ljust(16, b"\0"), ET_DYN, self.machine.e_machine,
                        EV_CURRENT, 0, _EHDR.size, shoff, self.obj.flags, _EHDR.size,
                        PHDR_SIZE, len(phdrs), SHDR_SIZE, 1 + len(sections), self.shstrtab.index)
        phdr_bytes = b"".join(phdrs)
        out[_EHDR.size:_EHDR.size + len(phdr_bytes)] = phdr_bytes
        for sec in sections:
            if sec.type != SHT_NOBITS:
                out[sec.offset:sec.offset + len(sec.data)] = sec.data
        for n, (sec, name) in enumerate(zip(sections, self.name_offsets), 1):
            _SHDR.pack_into(out, shoff + SHDR_SIZE * n, name, sec.type, sec.flags, sec.addr,
                            sec.offset, sec.size, sec.link.index if sec.link else 0, sec.info,
                            sec.addralign, sec.entsize)
        return bytes(out)
