"""LLVM's stack map section, `.llvm_stackmaps` (format version 3, LLVM's "Stack maps and
patch points" document), as aot artifacts carry it: one table per codegen unit that has
records, the tables concatenated at 8-byte boundaries, function addresses resolved at
link time (relative to the load base; the section is not loaded, `aot.codegen.elfwriter`).

`parse` turns the bytes into `StackMapFunction`s; `StackMapIndex` is the collector's
runtime form: return address -> the stack slots holding references
(`aot.codegen.stackmaps` says how compiled code fills them)."""

from __future__ import annotations

import bisect
import struct
from dataclasses import dataclass

SECTION = ".llvm_stackmaps"
VERSION = 3

# Location kinds.
REGISTER, DIRECT, INDIRECT, CONSTANT, CONSTANT_INDEX = 1, 2, 3, 4, 5
# DWARF register numbers of the x86-64 frame and stack pointers.
DWARF_RBP, DWARF_RSP = 6, 7

_HEADER = struct.Struct("<BBHIII")
_FUNCTION = struct.Struct("<QQQ")
_RECORD = struct.Struct("<QIHH")
_LOCATION = struct.Struct("<BBHHHi")


class StackMapError(ValueError):
    """The section is not what LLVM writes."""


@dataclass(frozen=True)
class Location:
    kind: int
    size: int
    dwarf_reg: int
    offset: int  # or the small constant, for CONSTANT


@dataclass(frozen=True)
class StackMapRecord:
    id: int
    address: int  # the function's address plus the record's instruction offset
    locations: tuple[Location, ...]


@dataclass(frozen=True)
class StackMapFunction:
    address: int
    stack_size: int
    records: tuple[StackMapRecord, ...]


def parse(data: bytes) -> list[StackMapFunction]:
    """Every table in `data`, one after the other."""
    out: list[StackMapFunction] = []
    pos = 0
    while pos < len(data):
        pos = _parse_table(data, pos, out)
        pos = (pos + 7) & ~7
    return out


def _parse_table(data: bytes, pos: int, out: list[StackMapFunction]) -> int:
    try:
        version, _, _, n_functions, n_constants, n_records = _HEADER.unpack_from(data, pos)
        if version != VERSION:
            raise StackMapError(f"stack map version {version} at byte {pos}, expected {VERSION}")
        pos += _HEADER.size
        functions = [_FUNCTION.unpack_from(data, pos + i * _FUNCTION.size) for i in range(n_functions)]
        pos += n_functions * _FUNCTION.size + 8 * n_constants
        if sum(f[2] for f in functions) != n_records:
            raise StackMapError("stack map record counts disagree")
        for address, stack_size, count in functions:
            records = []
            for _ in range(count):
                rid, offset, _, n_locations = _RECORD.unpack_from(data, pos)
                pos += _RECORD.size
                locations = tuple(Location(kind, size, reg, off) for kind, _, size, reg, _, off
                                  in (_LOCATION.unpack_from(data, pos + i * _LOCATION.size)
                                      for i in range(n_locations)))
                pos += n_locations * _LOCATION.size
                pos = (pos + 7) & ~7  # padding after the locations
                (n_live_outs,) = struct.unpack_from("<H", data, pos + 2)
                pos += 4 + 4 * n_live_outs
                pos = (pos + 7) & ~7
                records.append(StackMapRecord(rid, address + offset, locations))
            out.append(StackMapFunction(address, stack_size, tuple(records)))
        return pos
    except struct.error:
        raise StackMapError(f"stack map table at byte {pos} is truncated") from None


class StackMapIndex:
    """Return address -> the reference slots of the frame that made that call, as
    (DWARF register, offset) pairs: the slot is at register + offset, the register being
    the calling frame's frame pointer (rbp) or its stack pointer at the call (rsp)."""

    def __init__(self, functions: list[StackMapFunction]):
        functions = sorted(functions, key=lambda f: f.address)
        self._starts = [f.address for f in functions]
        self._records = [sorted(f.records, key=lambda r: r.address) for f in functions]
        self._addresses = [[r.address for r in recs] for recs in self._records]
        self.n_records = sum(len(r) for r in self._records)

    def slots_at(self, return_address: int) -> list[tuple[int, int]] | None:
        """The slots live at the call that returns to `return_address` (link-time address),
        or None when no record belongs to it (a function that keeps no references).
        The call's record is the first at or after its return address in its function
        (LLVM emits the record after the result's moves)."""
        k = bisect.bisect_right(self._starts, return_address) - 1
        if k < 0:
            return None
        i = bisect.bisect_left(self._addresses[k], return_address)
        if i == len(self._addresses[k]):
            return None  # past the function's last record: another function's code
        return [(loc.dwarf_reg, loc.offset) for loc in self._records[k][i].locations
                if loc.kind == DIRECT]


__all__ = ["SECTION", "StackMapError", "StackMapFunction", "StackMapIndex", "StackMapRecord",
           "parse"]
