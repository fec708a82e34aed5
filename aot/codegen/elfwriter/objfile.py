"""The relocatable input (ET_REL) as LLVM writes it: sections, symbols, relocations.

The input is what LLVM just emitted, read once per compile: its headers and tables are
decoded here with `struct` (Elf64_Ehdr, Elf64_Shdr, Elf64_Sym, Elf64_Rela), because
pyelftools' per-file set-up and per-entry parsing cost about a millisecond per object,
which dominated the link of a module split into a unit per function (1,300 objects:
1.2 s -> 0.3 s).  Artifacts, read by the loader and `aot inspect`, go through pyelftools."""

from __future__ import annotations

import io
import struct
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import NamedTuple

from elftools.elf.elffile import ELFFile

from aot.codegen.elfwriter.constants import (
    ELFCLASS64,
    ELFDATA2LSB,
    EM_AARCH64,
    EM_X86_64,
    ET_REL,
    RELA_SIZE,
    SHDR_SIZE,
    SHF_ALLOC,
    SHN_LORESERVE,
    SHN_XINDEX,
    SHT_NOBITS,
    SHT_REL,
    SHT_RELA,
    SHT_SYMTAB,
    SHT_SYMTAB_SHNDX,
    SYM_SIZE,
)
from aot.errors import AotError

_MACHINES = {EM_X86_64: "x86-64", EM_AARCH64: "AArch64"}

_SYM = struct.Struct("<IBBHQQ")
_RELA = struct.Struct("<QQq")


class Elf64Ehdr(NamedTuple):
    """The ELF header (gABI "ELF Header"), after e_ident."""
    e_type: int
    e_machine: int
    e_version: int
    e_entry: int
    e_phoff: int
    e_shoff: int
    e_flags: int
    e_ehsize: int
    e_phentsize: int
    e_phnum: int
    e_shentsize: int
    e_shnum: int
    e_shstrndx: int

    FORMAT = struct.Struct("<HHIQQQIHHHHHH")
    EI_NIDENT = 16


class Elf64Shdr(NamedTuple):
    """A section header (gABI "Sections")."""
    sh_name: int
    sh_type: int
    sh_flags: int
    sh_addr: int
    sh_offset: int
    sh_size: int
    sh_link: int
    sh_info: int
    sh_addralign: int
    sh_entsize: int

    FORMAT = struct.Struct("<IIQQQQIIQQ")


class ObjectFileError(AotError):
    """The relocatable object cannot be linked (malformed, or uses an unsupported feature)."""


@dataclass
class InputSection:
    index: int
    name: str
    type: int
    flags: int
    addralign: int
    size: int
    entsize: int
    link: int
    info: int
    data: bytes  # empty for SHT_NOBITS


@dataclass(frozen=True)
class Symbol:
    name: str
    value: int
    size: int
    bind: int
    type: int
    visibility: int
    shndx: int


@dataclass
class ObjectFile:
    machine: int
    osabi: int
    flags: int
    sections: list[InputSection]  # indexed by section number; [0] is the null section
    symbols: list[Symbol]  # indexed by symbol number; [0] is the null symbol
    # Relocations of each section that has some, as (r_offset, r_type, r_sym, r_addend),
    # keyed by the index of the section they patch.
    relocations: dict[int, list[tuple[int, int, int, int]]] = field(default_factory=dict)


def _strings(table: bytes):
    """A lookup `offset -> str` into a string table, cached: names repeat a lot."""
    cache: dict[int, str] = {}

    def get(offset: int) -> str:
        s = cache.get(offset)
        if s is None:
            end = table.index(b"\0", offset)
            s = cache[offset] = table[offset:end].decode("utf-8", "replace")
        return s

    return get


def read_object(obj: bytes) -> ObjectFile:
    """Parse an ELF64 little-endian relocatable object for x86-64 or AArch64."""
    ident_size = Elf64Ehdr.EI_NIDENT
    if len(obj) < ident_size + Elf64Ehdr.FORMAT.size or obj[:4] != b"\x7fELF":
        raise ObjectFileError("the object is not a readable ELF file (no ELF header)")
    if obj[4] != ELFCLASS64 or obj[5] != ELFDATA2LSB:
        raise ObjectFileError("the object is not ELF64 little-endian")
    header = Elf64Ehdr(*Elf64Ehdr.FORMAT.unpack_from(obj, ident_size))
    if header.e_type != ET_REL:
        raise ObjectFileError(f"the object has e_type {header.e_type}, not a relocatable ET_REL")
    if header.e_machine not in _MACHINES:
        raise ObjectFileError(f"no relocation support for machine {header.e_machine}")
    sections = [InputSection(index, name, h.sh_type, h.sh_flags, max(h.sh_addralign, 1),
                             h.sh_size, h.sh_entsize, h.sh_link, h.sh_info, data)
                for index, (h, name, data) in enumerate(_read_sections(obj, header))]

    symbols: list[Symbol] = []
    relocations: dict[int, list[tuple[int, int, int, int]]] = {}
    for sec in sections:
        if sec.type == SHT_SYMTAB:
            if symbols:
                raise ObjectFileError("the object has more than one .symtab")
            symbols = _read_symbols(sec.data, sections[sec.link].data)
        elif sec.type == SHT_SYMTAB_SHNDX:
            raise ObjectFileError("the object has too many sections (SHT_SYMTAB_SHNDX)")
        elif sec.type == SHT_REL:
            raise ObjectFileError(f"SHT_REL section {sec.name} (only RELA is supported)")
    for sec in sections:
        if sec.type == SHT_RELA:
            if len(sec.data) % RELA_SIZE:
                raise ObjectFileError(f"{sec.name}: size is not a multiple of {RELA_SIZE}")
            relocs = relocations.setdefault(sec.info, [])
            for r_offset, r_info, r_addend in _RELA.iter_unpack(sec.data):
                sym = r_info >> 32
                if sym >= len(symbols):
                    raise ObjectFileError(f"{sec.name}: relocation against symbol #{sym}, out of range")
                relocs.append((r_offset, r_info & 0xFFFFFFFF, sym, r_addend))
    return ObjectFile(header.e_machine, obj[7], header.e_flags, sections, symbols, relocations)


def _read_sections(obj: bytes, header: Elf64Ehdr) -> list[tuple[Elf64Shdr, str, bytes]]:
    """Each section's header, name and contents, bounds-checked."""
    if header.e_shoff == 0:
        return []
    if header.e_shentsize != SHDR_SIZE:
        raise ObjectFileError(f"the object's e_shentsize is {header.e_shentsize}, not {SHDR_SIZE}")

    def shdr(index: int) -> Elf64Shdr:
        at = header.e_shoff + index * SHDR_SIZE
        if at + SHDR_SIZE > len(obj):
            raise ObjectFileError(f"section header #{index} lies past the end of the object")
        return Elf64Shdr(*Elf64Shdr.FORMAT.unpack_from(obj, at))

    # Extended numbering: past 0xff00 sections, the counts live in section 0's header.
    first = shdr(0)
    count = header.e_shnum or first.sh_size
    strndx = first.sh_link if header.e_shstrndx == SHN_XINDEX else header.e_shstrndx
    headers = [first, *(shdr(i) for i in range(1, count))]
    contents = []
    for index, h in enumerate(headers):
        if h.sh_type == SHT_NOBITS:
            contents.append(b"")
        elif h.sh_offset + h.sh_size > len(obj):
            raise ObjectFileError(f"section #{index}'s contents lie past the end of the object")
        else:
            contents.append(obj[h.sh_offset:h.sh_offset + h.sh_size])
    if count and strndx >= count:
        raise ObjectFileError(f"the section name table #{strndx} does not exist")
    name = _strings(contents[strndx]) if count else None
    out = []
    for h, data in zip(headers, contents):
        try:
            out.append((h, name(h.sh_name), data))
        except ValueError:
            raise ObjectFileError(f"a section name at offset {h.sh_name} is not in the name table") from None
    return out


def _read_symbols(table: bytes, strtab: bytes) -> list[Symbol]:
    if len(table) % SYM_SIZE:
        raise ObjectFileError(f".symtab: size is not a multiple of {SYM_SIZE}")
    name = _strings(strtab)
    out = []
    for st_name, st_info, st_other, st_shndx, st_value, st_size in _SYM.iter_unpack(table):
        out.append(Symbol(name(st_name), st_value, st_size, st_info >> 4, st_info & 0xF,
                          st_other & 0x3, st_shndx))
    return out


def is_special_index(shndx: int) -> bool:
    """SHN_ABS, SHN_COMMON and the other reserved indexes (not a real section)."""
    return shndx >= SHN_LORESERVE


def without_alloc_flag(obj: bytes, names: Collection[str]) -> bytes:
    """`obj` with SHF_ALLOC cleared on the sections named `names`: how the system
    linker is given the sections aot's writer keeps unloaded (`layout.UNLOADED_SECTIONS`),
    so that it too resolves their addresses at link time."""
    elf = ELFFile(io.BytesIO(obj))
    shoff, shentsize = elf.header["e_shoff"], elf.header["e_shentsize"]
    out = bytearray(obj)
    for index, sec in enumerate(elf.iter_sections()):
        if sec.name in names:
            flags_at = shoff + index * shentsize + 8  # Elf64_Shdr.sh_flags
            (flags,) = struct.unpack_from("<Q", out, flags_at)
            struct.pack_into("<Q", out, flags_at, flags & ~SHF_ALLOC)
    return bytes(out)
