"""Mapping an artifact into the process and reading its vtable and module description."""

from __future__ import annotations

import io
import os
import re

from aot.abi.artifact import ABI_VERSION, VTABLE_MAGIC, VTABLE_SYMBOL, VTable
from aot.abi.metadata import ModuleDesc, decode_metadata
from aot.errors import ArtifactError, Frame
from aot.loader import signals
from aot.loader.backtrace import register_artifact
from aot.loader.ffi import ffi

_WASM_FUNCTION = re.compile(r"wasm_f(\d+)(?:_|$)")

ELF_MAGIC = b"\x7fELF"


class Artifact:
    """A loaded (dlopen'ed) artifact.  Kept alive by every module and instance using it."""

    def __init__(self, path: str, data: bytes | None = None):
        self.path = path
        self._data = data  # the file's bytes, when the file itself is temporary
        self._debug = None  # (load base, [code ranges], AddressMap), parsed on first need
        _check_header(path)
        try:
            self.lib = ffi.dlopen(os.path.abspath(path))
        except OSError as exc:
            raise ArtifactError(f"{path}: cannot be loaded as a shared object: {exc}") from exc
        try:
            vt = getattr(self.lib, VTABLE_SYMBOL)
        except (AttributeError, KeyError, OSError):  # cffi: KeyError when absent
            raise ArtifactError(f"{path}: not an aot artifact (no {VTABLE_SYMBOL} symbol)") from None
        if vt[VTable.MAGIC] != VTABLE_MAGIC:
            raise ArtifactError(f"{path}: not an aot artifact (bad vtable magic)")
        if vt[VTable.ABI_VERSION] != ABI_VERSION:
            raise ArtifactError(
                f"{path}: compiled for artifact ABI {vt[VTable.ABI_VERSION]}, "
                f"this aot reads ABI {ABI_VERSION}"
            )
        self.vtable = vt
        raw = ffi.unpack(ffi.cast("char *", vt[VTable.METADATA]), vt[VTable.METADATA_LEN])
        try:
            self.desc: ModuleDesc = decode_metadata(raw)
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            raise ArtifactError(f"{path}: corrupt module description ({exc})") from exc
        self.init_addr = vt[VTable.INIT]
        self.wasm_calls = _words(vt[VTable.FUNCS], vt[VTable.N_FUNCS])
        self.host_trampolines = _words(vt[VTable.HOST_TRAMPOLINES], vt[VTable.N_IMPORTED_FUNCS])
        self.entries = _words(vt[VTable.ENTRIES], vt[VTable.N_TYPES])
        if len(self.entries) != len(self.desc.types):
            raise ArtifactError(f"{path}: vtable and module description disagree")
        register_artifact(self)
        if self.desc.options.get("bounds_checks") == "guard":
            # Accesses past a memory's end fault: the handler must know this code.
            signals.ensure_installed()
            signals.register_code(self, vt[VTable.TEXT_BEGIN], vt[VTable.TEXT_END])

    # --- backtraces (parsed lazily: start-up never reads the ELF file) -------------------

    def _debug_info(self):
        if self._debug is None:
            from elftools.elf.elffile import ELFFile

            from aot.elf.addrmap import AddressMap

            data = self._data
            if data is None:
                with open(self.path, "rb") as f:
                    data = f.read()
            elf = ELFFile(io.BytesIO(data))
            symtab = elf.get_section_by_name(".dynsym")
            vt = symtab.get_symbol_by_name(VTABLE_SYMBOL)[0]
            base = int(ffi.cast("uintptr_t", self.vtable)) - vt["st_value"]
            ranges = [(base + seg["p_vaddr"], base + seg["p_vaddr"] + seg["p_memsz"])
                      for seg in elf.iter_segments()
                      if seg["p_type"] == "PT_LOAD" and seg["p_flags"] & 1]
            self._debug = (int(base), ranges, AddressMap(elf))
        return self._debug

    def code_contains(self, pc: int) -> bool:
        return any(lo <= pc < hi for lo, hi in self._debug_info()[1])

    def frames_at(self, pc: int) -> list[Frame]:
        """The wasm frames (innermost first) active at address `pc` in this artifact."""
        base, _, addrmap = self._debug_info()
        desc = self.desc
        module_name = desc.name or "<unknown>"
        out = []
        for sf in addrmap.frames_at(pc - base):
            m = _WASM_FUNCTION.match(sf.function)
            if m is None:
                continue  # trampolines and runtime code: not wasm frames
            index = int(m.group(1))
            name = desc.func_names.get(index, f"<wasm function {index}>")
            out.append(Frame(index, name, module_name, sf.offset or None))
        return out


def _words(addr: int, n: int) -> list[int]:
    if n == 0:
        return []
    return list(ffi.cast("uint64_t *", addr)[0:n])


def _check_header(path: str) -> None:
    try:
        with open(path, "rb") as f:
            head = f.read(64)
    except OSError as exc:
        raise ArtifactError(f"{path}: cannot read: {exc.strerror}") from exc
    if head[:4] != ELF_MAGIC:
        raise ArtifactError(f"{path}: not an ELF file, so not an aot artifact")
    if len(head) < 64 or head[4] != 2 or head[5] != 1 or head[16] != 3:
        raise ArtifactError(f"{path}: not a 64-bit little-endian ELF shared object")
