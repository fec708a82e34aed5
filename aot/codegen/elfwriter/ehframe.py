""".eh_frame_hdr: where .eh_frame is, and a table of (function start, FDE) sorted by
start, which unwinders (libgcc, libunwind, gdb, perf) binary-search through
PT_GNU_EH_FRAME instead of scanning .eh_frame (LSB, "Exception Frames")."""

from __future__ import annotations

import struct

from aot.codegen.elfwriter.constants import (
    DW_EH_PE_absptr,
    DW_EH_PE_datarel,
    DW_EH_PE_omit,
    DW_EH_PE_pcrel,
    DW_EH_PE_sdata2,
    DW_EH_PE_sdata4,
    DW_EH_PE_sdata8,
    DW_EH_PE_sleb128,
    DW_EH_PE_udata2,
    DW_EH_PE_udata4,
    DW_EH_PE_udata8,
    DW_EH_PE_uleb128,
)
from aot.errors import AotError

HEADER_SIZE = 12
ENTRY_SIZE = 8
# A zero length word: the end of .eh_frame for unwinders that walk it (__register_frame).
TERMINATOR = bytes(4)

_FIXED = {
    DW_EH_PE_absptr: struct.Struct("<Q"), DW_EH_PE_udata2: struct.Struct("<H"),
    DW_EH_PE_udata4: struct.Struct("<I"), DW_EH_PE_udata8: struct.Struct("<Q"),
    DW_EH_PE_sdata2: struct.Struct("<h"), DW_EH_PE_sdata4: struct.Struct("<i"),
    DW_EH_PE_sdata8: struct.Struct("<q"),
}
_U32 = struct.Struct("<I")


class EhFrameError(AotError):
    """.eh_frame is malformed or uses an encoding this writer does not read."""


def _uleb(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, pos


def _sleb(data: bytes, pos: int) -> tuple[int, int]:
    start = pos
    value, pos = _uleb(data, pos)
    bits = 7 * (pos - start)
    if value & (1 << (bits - 1)):
        value -= 1 << bits
    return value, pos


def _read_pointer(data: bytes, pos: int, enc: int, address: int) -> tuple[int, int]:
    """Decode a DW_EH_PE_* pointer at `data[pos]`, which is at `address` in memory."""
    fmt, app = enc & 0x0F, enc & 0x70
    if fmt == DW_EH_PE_uleb128:
        value, end = _uleb(data, pos)
    elif fmt == DW_EH_PE_sleb128:
        value, end = _sleb(data, pos)
    elif fmt in _FIXED:
        s = _FIXED[fmt]
        value, end = s.unpack_from(data, pos)[0], pos + s.size
    else:
        raise EhFrameError(f"unknown pointer encoding 0x{enc:02x}")
    if app == DW_EH_PE_pcrel:
        value += address
    elif app != DW_EH_PE_absptr:
        raise EhFrameError(f"unsupported pointer encoding 0x{enc:02x} for an FDE address")
    return value & 0xFFFF_FFFF_FFFF_FFFF, end


def _cie_fde_encoding(data: bytes, pos: int, end: int) -> int:
    """The 'R' augmentation of the CIE whose content (after the CIE id) starts at pos."""
    version = data[pos]
    aug_end = data.index(b"\0", pos + 1, end)
    aug = data[pos + 1:aug_end].decode("ascii", "replace")
    pos = aug_end + 1
    if "eh" in aug:
        pos += 8
    _, pos = _uleb(data, pos)  # code alignment
    _, pos = _sleb(data, pos)  # data alignment
    pos = pos + 1 if version == 1 else _uleb(data, pos)[1]  # return address register
    if not aug.startswith("z"):
        return DW_EH_PE_absptr
    _, pos = _uleb(data, pos)  # augmentation data length
    for ch in aug[1:]:
        if ch == "R":
            return data[pos]
        if ch == "L":
            pos += 1
        elif ch == "P":
            enc = data[pos]
            _, pos = _read_pointer(data, pos + 1, enc & 0x0F, 0)  # only its size matters
        elif ch not in "SBG":
            break  # unknown augmentation: the rest cannot be parsed; keep the default
    return DW_EH_PE_absptr


def fde_addresses(eh_frame: bytes, address: int) -> list[tuple[int, int]]:
    """(initial location, FDE address) of every FDE of an .eh_frame placed at `address`,
    in section order."""
    out = []
    encodings: dict[int, int] = {}
    pos = 0
    while pos + 4 <= len(eh_frame):
        length = _U32.unpack_from(eh_frame, pos)[0]
        if length == 0:
            break
        if length == 0xFFFF_FFFF:
            raise EhFrameError("64-bit DWARF .eh_frame records are not supported")
        id_pos = pos + 4
        end = id_pos + length
        if end > len(eh_frame):
            raise EhFrameError(f"record at 0x{pos:x} runs past the end of .eh_frame")
        cie_pointer = _U32.unpack_from(eh_frame, id_pos)[0]
        if cie_pointer == 0:
            encodings[pos] = _cie_fde_encoding(eh_frame, id_pos + 4, end)
        else:
            enc = encodings.get(id_pos - cie_pointer)
            if enc is None:
                raise EhFrameError(f"FDE at 0x{pos:x} does not point at a CIE")
            if enc == DW_EH_PE_omit or enc & 0x80:
                raise EhFrameError(f"FDE at 0x{pos:x}: unusable address encoding 0x{enc:02x}")
            start, _ = _read_pointer(eh_frame, id_pos + 4, enc, address + id_pos + 4)
            out.append((start, address + pos))
        pos = end
    return out


def count_fdes(eh_frame: bytes) -> int:
    """The number of FDEs (before relocation: only the structure is read)."""
    return len(fde_addresses(eh_frame, 0))


def hdr_size(n_fdes: int) -> int:
    return HEADER_SIZE + ENTRY_SIZE * n_fdes


def eh_frame_hdr(eh_frame: bytes, eh_frame_addr: int, hdr_addr: int) -> bytes:
    """.eh_frame_hdr for the relocated `eh_frame` at `eh_frame_addr`, to go at `hdr_addr`."""
    fdes = sorted(fde_addresses(eh_frame, eh_frame_addr))
    header = struct.pack(
        "<BBBBiI",
        1,  # version
        DW_EH_PE_pcrel | DW_EH_PE_sdata4,  # eh_frame_ptr
        DW_EH_PE_udata4,  # fde_count
        DW_EH_PE_datarel | DW_EH_PE_sdata4,  # table entries, relative to .eh_frame_hdr
        eh_frame_addr - (hdr_addr + 4),
        len(fdes),
    )
    table = struct.pack(f"<{2 * len(fdes)}i", *(v - hdr_addr for fde in fdes for v in fde))
    return header + table
