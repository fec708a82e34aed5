"""An artifact seen as an ELF file: sections, function symbols, `.eh_frame` FDEs.

Used by `aot inspect` and the tests; the loader itself never parses ELF (it dlopens and
reads `aot_vtable`), so start-up pays nothing for this."""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import cached_property

from elftools.dwarf.callframe import FDE
from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection

from aot.abi.artifact import VTABLE_SYMBOL
from aot.errors import ArtifactError


@dataclass(frozen=True)
class FunctionSymbol:
    """An STT_FUNC entry of `.symtab`."""

    name: str
    address: int
    size: int

    @property
    def is_wasm(self) -> bool:
        """A compiled wasm function (internal form or its wasm-call wrapper)."""
        return self.name.startswith(("wasm_f", "aot_wasm_call_f"))


@dataclass(frozen=True)
class UnwindEntry:
    """A Frame Description Entry of `.eh_frame`: the code range it describes."""

    start: int
    size: int

    def covers(self, sym: FunctionSymbol) -> bool:
        return self.start <= sym.address and sym.address + sym.size <= self.start + self.size


@dataclass(frozen=True)
class SectionInfo:
    name: str
    type: str
    address: int
    size: int


class ArtifactFile:
    def __init__(self, path: str, data: bytes | None = None):
        """The artifact at `path`, or in `data` (then `path` only names it)."""
        self.path = path
        try:
            # The file lives as long as the ELFFile.
            self._file = open(path, "rb") if data is None else io.BytesIO(data)  # noqa: SIM115
            self.elf = ELFFile(self._file)
        except Exception as exc:  # pyelftools raises a variety of errors on bad input
            raise ArtifactError(f"{path}: not a readable ELF file ({exc})") from exc

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> ArtifactFile:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def machine(self) -> str:
        return self.elf["e_machine"]

    @property
    def elf_type(self) -> str:
        return self.elf["e_type"]

    @cached_property
    def sections(self) -> list[SectionInfo]:
        return [SectionInfo(s.name, s["sh_type"], s["sh_addr"], s["sh_size"])
                for s in self.elf.iter_sections() if s.name]

    def stack_maps(self) -> dict | None:
        """What `.llvm_stackmaps` records (`aot.elf.stackmaps`), or None without one."""
        from aot.elf.stackmaps import SECTION, StackMapError, parse

        section = self.elf.get_section_by_name(SECTION)
        if section is None:
            return None
        try:
            functions = parse(section.data())
        except StackMapError as exc:
            raise ArtifactError(f"{self.path}: {exc}") from None
        records = [r for f in functions for r in f.records]
        return {"functions": len(functions), "records": len(records),
                "slots": sum(len(r.locations) for r in records)}

    def has_section(self, name: str) -> bool:
        return self.elf.get_section_by_name(name) is not None

    @cached_property
    def functions(self) -> list[FunctionSymbol]:
        symtab = self.elf.get_section_by_name(".symtab")
        if not isinstance(symtab, SymbolTableSection):
            return []
        out = [
            FunctionSymbol(s.name, s["st_value"], s["st_size"])
            for s in symtab.iter_symbols()
            if s["st_info"]["type"] == "STT_FUNC" and s["st_size"] > 0
        ]
        return sorted(out, key=lambda f: f.address)

    @cached_property
    def dynamic_symbols(self) -> list[str]:
        dynsym = self.elf.get_section_by_name(".dynsym")
        if not isinstance(dynsym, SymbolTableSection):
            return []
        # Defined ones only: an undefined entry is an import, not something we provide.
        return [s.name for s in dynsym.iter_symbols() if s.name and s["st_shndx"] != "SHN_UNDEF"]

    def symbol_bytes(self, name: str) -> bytes | None:
        """The contents of the data symbol `name` (from .symtab), read from the file."""
        symtab = self.elf.get_section_by_name(".symtab")
        if not isinstance(symtab, SymbolTableSection):
            return None
        syms = symtab.get_symbol_by_name(name)
        if not syms:
            return None
        sym = syms[0]
        section = self.elf.get_section(sym["st_shndx"])
        start = sym["st_value"] - section["sh_addr"]
        return section.data()[start:start + sym["st_size"]]

    @property
    def is_aot_artifact(self) -> bool:
        return VTABLE_SYMBOL in self.dynamic_symbols

    @cached_property
    def unwind_entries(self) -> list[UnwindEntry]:
        if not self.elf.has_ehabi_info() and not self.has_section(".eh_frame"):
            return []
        dwarf = self.elf.get_dwarf_info()
        return [
            UnwindEntry(e.header["initial_location"], e.header["address_range"])
            for e in dwarf.EH_CFI_entries()
            if isinstance(e, FDE)
        ]

    def functions_without_unwind(self) -> list[FunctionSymbol]:
        fdes = self.unwind_entries
        return [f for f in self.functions if not any(e.covers(f) for e in fdes)]
