"""Several relocatable objects (and bulk data) -> one `ObjectFile` for the writer.

A module compiled in parallel is several LLVM modules, one object each (`aot.codegen.
units`); its bulk data (memory image, data segments, metadata) never passes through
LLVM and arrives here as `Blob`s.  Merging is what a static linker does first: sections
are renumbered and kept in input order (same-named ones are concatenated later by
`layout.gather`), local symbols stay local to their object, and each undefined symbol is
bound to the one object that defines it as a global."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aot.codegen.elfwriter.constants import (
    SHF_ALLOC,
    SHF_INFO_LINK,
    SHN_UNDEF,
    SHT_PROGBITS,
    STB_GLOBAL,
    STB_LOCAL,
    STB_WEAK,
    STT_OBJECT,
    STV_HIDDEN,
)
from aot.codegen.elfwriter.objfile import (
    InputSection,
    ObjectFile,
    ObjectFileError,
    Symbol,
    is_special_index,
)


@dataclass(frozen=True)
class Blob:
    """Bytes that become a read-only section of the artifact, named by a hidden global
    symbol that the code refers to (declared, not defined, in the LLVM modules)."""

    symbol: str
    data: bytes
    align: int = 16


def blob_object(machine: int, osabi: int, flags: int, blobs: Sequence[Blob]) -> ObjectFile:
    """An object that defines each blob's symbol in a `.rodata.<symbol>` section."""
    sections = [InputSection(0, "", 0, 0, 1, 0, 0, 0, 0, b"")]
    symbols = [Symbol("", 0, 0, STB_LOCAL, 0, 0, 0)]
    for blob in blobs:
        index = len(sections)
        sections.append(InputSection(index, f".rodata.{blob.symbol}", SHT_PROGBITS, SHF_ALLOC,
                                     blob.align, len(blob.data), 0, 0, 0, blob.data))
        symbols.append(Symbol(blob.symbol, 0, len(blob.data), STB_GLOBAL, STT_OBJECT,
                              STV_HIDDEN, index))
    return ObjectFile(machine, osabi, flags, sections, symbols)


def merge_objects(objects: Sequence[ObjectFile]) -> ObjectFile:
    """One object with every section, symbol and relocation of `objects`, in order."""
    if len(objects) == 1:
        return objects[0]
    first = objects[0]
    for obj in objects[1:]:
        if obj.machine != first.machine:
            raise ObjectFileError("the objects to link are for different machines")

    # Pass 1: where each global is defined.
    defined: dict[str, tuple[int, int]] = {}
    for k, obj in enumerate(objects):
        for j, sym in enumerate(obj.symbols):
            if j and sym.shndx != SHN_UNDEF and sym.bind in (STB_GLOBAL, STB_WEAK):
                if sym.name in defined:
                    raise ObjectFileError(f"symbol {sym.name} is defined in two objects")
                defined[sym.name] = (k, j)

    # Pass 2: sections and symbols, renumbered.  Sections keep their links to other
    # sections of their own object.
    sections = [first.sections[0]]
    symbols = [first.symbols[0]]
    section_maps: list[dict[int, int]] = []
    symbol_maps: list[list[int]] = []
    undefined: dict[str, int] = {}  # one merged entry per name nobody defines
    pending: list[tuple[list[int], int, str]] = []  # (map, slot, name) bound after pass 2
    for obj in objects:
        smap = {0: 0}
        for n, sec in enumerate(obj.sections[1:], len(sections)):
            smap[sec.index] = n
        for sec in obj.sections[1:]:
            info = smap.get(sec.info, sec.info) if sec.flags & SHF_INFO_LINK else sec.info
            # Built field by field: `dataclasses.replace` introspects the class on each
            # call, a fifth of linking the SQLite shell's 1,327 objects.
            sections.append(InputSection(smap[sec.index], sec.name, sec.type, sec.flags,
                                         sec.addralign, sec.size, sec.entsize,
                                         smap.get(sec.link, sec.link), info, sec.data))
        section_maps.append(smap)
        ymap = [0] * len(obj.symbols)
        for j, sym in enumerate(obj.symbols):
            if not j:
                continue
            if sym.shndx == SHN_UNDEF:
                if sym.name in defined:
                    pending.append((ymap, j, sym.name))
                else:
                    if sym.name not in undefined:
                        undefined[sym.name] = len(symbols)
                        symbols.append(sym)
                    ymap[j] = undefined[sym.name]
                continue
            ymap[j] = len(symbols)
            if not is_special_index(sym.shndx):
                sym = Symbol(sym.name, sym.value, sym.size, sym.bind, sym.type, sym.visibility,
                             smap[sym.shndx])
            symbols.append(sym)
        symbol_maps.append(ymap)
    for ymap, j, name in pending:
        k, jj = defined[name]
        ymap[j] = symbol_maps[k][jj]

    relocations: dict[int, list[tuple[int, int, int, int]]] = {}
    for k, obj in enumerate(objects):
        smap, ymap = section_maps[k], symbol_maps[k]
        for target, relocs in obj.relocations.items():
            relocations[smap[target]] = [(off, typ, ymap[sym], add) for off, typ, sym, add in relocs]
    return ObjectFile(first.machine, first.osabi, first.flags, sections, symbols, relocations)
