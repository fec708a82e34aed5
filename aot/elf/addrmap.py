"""Machine address -> wasm frames, from the DWARF the compiler emits (line = offset in
the wasm function's body plus one, `aot.codegen.debuginfo`; one DW_TAG_subprogram per
compiled function, DW_TAG_inlined_subroutine where LLVM inlined one wasm function into
another).

Built lazily, on the first backtrace that needs it: start-up never pays for it."""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from elftools.elf.elffile import ELFFile


@dataclass(frozen=True)
class SourceFrame:
    """One (possibly inlined) function activation at an address."""

    function: str  # the compiled function's name, e.g. "wasm_f3_inner"
    line: int  # the DWARF line: offset in the function's body plus one; 0 when unknown


@dataclass
class _Scope:
    low: int
    high: int
    name: str
    call_line: int  # for inlined scopes: the line of the call in the parent
    ranges: list[tuple[int, int]]
    children: list[_Scope]

    def contains(self, addr: int) -> bool:
        return any(lo <= addr < hi for lo, hi in self.ranges)


class AddressMap:
    def __init__(self, elf: ELFFile):
        self._addrs: list[int] = []
        self._lines: list[int] = []
        self._scopes: list[_Scope] = []
        if not elf.has_dwarf_info():
            return
        dwarf = elf.get_dwarf_info()
        rows: list[tuple[int, int]] = []
        for cu in dwarf.iter_CUs():
            lp = dwarf.line_program_for_CU(cu)
            if lp is not None:
                for entry in lp.get_entries():
                    st = entry.state
                    if st is not None:
                        # An end_sequence row marks the address after the last one: line 0.
                        rows.append((st.address, 0 if st.end_sequence else st.line))
            top = cu.get_top_DIE()
            for die in top.iter_children():
                if die.tag == "DW_TAG_subprogram":
                    scope = self._scope(dwarf, cu, die)
                    if scope is not None:
                        self._scopes.append(scope)
        rows.sort()
        self._addrs = [a for a, _ in rows]
        self._lines = [line for _, line in rows]
        self._scopes.sort(key=lambda s: s.low)
        self._lows = [s.low for s in self._scopes]

    def _scope(self, dwarf, cu, die) -> _Scope | None:
        ranges = _ranges(dwarf, cu, die)
        if not ranges:
            return None
        name = _name(die)
        call_line = die.attributes["DW_AT_call_line"].value if "DW_AT_call_line" in die.attributes else 0
        children = []
        for child in die.iter_children():
            if child.tag == "DW_TAG_inlined_subroutine":
                sub = self._scope(dwarf, cu, child)
                if sub is not None:
                    children.append(sub)
        return _Scope(min(r[0] for r in ranges), max(r[1] for r in ranges), name, call_line,
                      ranges, children)

    def line_at(self, addr: int) -> int:
        i = bisect.bisect_right(self._addrs, addr) - 1
        return self._lines[i] if i >= 0 else 0

    def frames_at(self, addr: int) -> list[SourceFrame]:
        """The function activations at `addr`, innermost first."""
        i = bisect.bisect_right(self._lows, addr) - 1
        while i >= 0 and not self._scopes[i].contains(addr):
            i -= 1
        if i < 0:
            return []
        chain = [self._scopes[i]]
        while True:
            inner = next((c for c in chain[-1].children if c.contains(addr)), None)
            if inner is None:
                break
            chain.append(inner)
        frames = []
        line = self.line_at(addr)
        for scope in reversed(chain):
            frames.append(SourceFrame(scope.name, line))
            line = scope.call_line  # where the parent called (inlined) this scope
        return frames


def _name(die) -> str:
    for attr in ("DW_AT_name", "DW_AT_linkage_name"):
        if attr in die.attributes:
            v = die.attributes[attr].value
            return v.decode() if isinstance(v, bytes) else str(v)
    origin = die.get_DIE_from_attribute("DW_AT_abstract_origin") if "DW_AT_abstract_origin" in die.attributes else None
    return _name(origin) if origin is not None else "?"


def _ranges(dwarf, cu, die) -> list[tuple[int, int]]:
    attrs = die.attributes
    if "DW_AT_low_pc" in attrs and "DW_AT_high_pc" in attrs:
        low = attrs["DW_AT_low_pc"].value
        high = attrs["DW_AT_high_pc"]
        # DWARF 4: high_pc is an offset from low_pc unless its form is an address.
        end = high.value if high.form == "DW_FORM_addr" else low + high.value
        return [(low, end)]
    if "DW_AT_ranges" in attrs:
        rl = dwarf.range_lists()
        if rl is None:
            return []
        base = cu.get_top_DIE().attributes.get("DW_AT_low_pc")
        base_addr = base.value if base is not None else 0
        out = []
        for entry in rl.get_range_list_at_offset(attrs["DW_AT_ranges"].value, cu=cu):
            if hasattr(entry, "begin_offset"):
                if getattr(entry, "is_absolute", False):
                    out.append((entry.begin_offset, entry.end_offset))
                else:
                    out.append((base_addr + entry.begin_offset, base_addr + entry.end_offset))
            elif hasattr(entry, "base_address"):
                base_addr = entry.base_address
        return out
    return []
