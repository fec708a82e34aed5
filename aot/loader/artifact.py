"""Mapping an artifact into the process and reading its vtable and module description."""

from __future__ import annotations

import os

from aot.abi.artifact import ABI_VERSION, VTABLE_MAGIC, VTABLE_SYMBOL, VTable
from aot.abi.metadata import ModuleDesc, decode_metadata
from aot.errors import ArtifactError
from aot.loader.ffi import ffi

ELF_MAGIC = b"\x7fELF"


class Artifact:
    """A loaded (dlopen'ed) artifact.  Kept alive by every module and instance using it."""

    def __init__(self, path: str):
        self.path = path
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
