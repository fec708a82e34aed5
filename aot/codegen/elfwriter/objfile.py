"""The relocatable input (ET_REL) as LLVM writes it: sections, symbols, relocations.

pyelftools checks the identification and frames the sections; the symbol and relocation
tables are decoded here with `struct.iter_unpack`, because going through pyelftools'
per-entry parsing would dominate the link time of a large module."""

from __future__ import annotations

import io
import struct
from collections.abc import Collection
from dataclasses import dataclass, field

from elftools.common.exceptions import ELFError
from elftools.elf import enums
from elftools.elf.elffile import ELFFile

from aot.codegen.elfwriter.constants import (
    EM_AARCH64,
    EM_X86_64,
    RELA_SIZE,
    SHF_ALLOC,
    SHN_LORESERVE,
    SHT_NOBITS,
    SHT_REL,
    SHT_RELA,
    SHT_SYMTAB,
    SHT_SYMTAB_SHNDX,
    SYM_SIZE,
)
from aot.errors import AotError

_MACHINES = {"EM_X86_64": EM_X86_64, "EM_AARCH64": EM_AARCH64}
# pyelftools decodes sh_type to a name with the table of the file's machine; map it back.
_SH_TYPES = {
    EM_X86_64: {**enums.ENUM_SH_TYPE_BASE, **enums.ENUM_SH_TYPE_AMD64},
    EM_AARCH64: {**enums.ENUM_SH_TYPE_BASE, **enums.ENUM_SH_TYPE_AARCH64},
}

_SYM = struct.Struct("<IBBHQQ")
_RELA = struct.Struct("<QQq")


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
    try:
        elf = ELFFile(io.BytesIO(obj))
        header = elf.header
        if elf.elfclass != 64 or not elf.little_endian:
            raise ObjectFileError("the object is not ELF64 little-endian")
        if header["e_type"] != "ET_REL":
            raise ObjectFileError(f"the object is {header['e_type']}, not a relocatable ET_REL")
        machine = _MACHINES.get(header["e_machine"])
        if machine is None:
            raise ObjectFileError(f"no relocation support for machine {header['e_machine']}")
        osabi = header["e_ident"]["EI_OSABI"]
        osabi = osabi if isinstance(osabi, int) else enums.ENUM_EI_OSABI[osabi]
        sh_types = _SH_TYPES[machine]
        sections: list[InputSection] = []
        for index, sec in enumerate(elf.iter_sections()):
            h = sec.header
            sh_type = h["sh_type"] if isinstance(h["sh_type"], int) else sh_types[h["sh_type"]]
            data = b"" if sh_type == SHT_NOBITS else sec.data()
            sections.append(InputSection(
                index, sec.name, sh_type, h["sh_flags"], max(h["sh_addralign"], 1),
                h["sh_size"], h["sh_entsize"], h["sh_link"], h["sh_info"], data,
            ))
    except ELFError as exc:
        raise ObjectFileError(f"the object is not a readable ELF file: {exc}") from exc

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
    return ObjectFile(machine, osabi, header["e_flags"], sections, symbols, relocations)


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
