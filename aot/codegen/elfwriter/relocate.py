"""Relocation types, one table per machine: how to compute each one and where its value
goes in the instruction or data word.

Every symbol is local to the shared object (the only export, `aot_vtable`, is bound
locally too, as with -Bsymbolic), so:

* PC-relative relocations are resolved at link time;
* absolute 64-bit addresses become RELATIVE dynamic relocations (see `dynamic.py`);
* GOT-relative ones get a GOT slot holding the address (itself RELATIVE-relocated),
  unless the instruction can be relaxed not to load from the GOT (x86-64 GOTPCRELX);
* the few imported symbols allowed (`writer.LIBC_IMPORTS`) are reached through a GOT
  slot bound by a GLOB_DAT relocation, and calls to them through a stub (a non-lazy PLT).

Formulas, in the psABIs' notation: S the symbol's address, A the addend, P the address
of the place, G the address of the symbol's GOT slot, Z the symbol's size, and
Page(x) = x & ~0xfff."""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass

from aot.codegen.elfwriter.constants import (
    EM_AARCH64,
    EM_X86_64,
    SHF_ALLOC,
    SHF_EXECINSTR,
    SHF_WRITE,
)
from aot.codegen.elfwriter.layout import OutputSection
from aot.errors import AotError


class RelocationError(AotError):
    """A relocation cannot be applied: unsupported type, value out of range, ..."""


# --- value formulas: (S, A, P, G, Z) -> value --------------------------------------------

Formula = Callable[[int, int, int, int, int], int]


def _s_a(s: int, a: int, p: int, g: int, z: int) -> int:
    return s + a


def _s_a_p(s: int, a: int, p: int, g: int, z: int) -> int:
    return s + a - p


def _g_a_p(s: int, a: int, p: int, g: int, z: int) -> int:
    return g + a - p


def _g(s: int, a: int, p: int, g: int, z: int) -> int:
    return g


def _z_a(s: int, a: int, p: int, g: int, z: int) -> int:
    return z + a


def _page_s_a_p(s: int, a: int, p: int, g: int, z: int) -> int:
    return ((s + a) & ~0xFFF) - (p & ~0xFFF)


def _page_g_p(s: int, a: int, p: int, g: int, z: int) -> int:
    return (g & ~0xFFF) - (p & ~0xFFF)


# --- fields: write `value` at `buf[pos:]`, checking it fits -------------------------------

Field = Callable[[bytearray, int, int], None]
_U16, _U32, _U64 = struct.Struct("<H"), struct.Struct("<I"), struct.Struct("<Q")


class _Overflow(Exception):
    pass


def _check(value: int, lo: int, hi: int) -> None:
    if not lo <= value < hi:
        raise _Overflow


def _none(buf: bytearray, pos: int, value: int) -> None:
    pass


def _word64(buf: bytearray, pos: int, value: int) -> None:
    _U64.pack_into(buf, pos, value & 0xFFFF_FFFF_FFFF_FFFF)


def _sword32(buf: bytearray, pos: int, value: int) -> None:
    _check(value, -(1 << 31), 1 << 31)
    _U32.pack_into(buf, pos, value & 0xFFFF_FFFF)


def _uword32(buf: bytearray, pos: int, value: int) -> None:
    _check(value, 0, 1 << 32)
    _U32.pack_into(buf, pos, value)


def _word32(buf: bytearray, pos: int, value: int) -> None:
    """Signed or unsigned 32 bits (AArch64 PREL32/ABS32)."""
    _check(value, -(1 << 31), 1 << 32)
    _U32.pack_into(buf, pos, value & 0xFFFF_FFFF)


def _word16(buf: bytearray, pos: int, value: int) -> None:
    _check(value, -(1 << 15), 1 << 16)
    _U16.pack_into(buf, pos, value & 0xFFFF)


def _insn(buf: bytearray, pos: int, clear: int, bits: int) -> None:
    """Replace the bits `clear` of the 32-bit AArch64 instruction at `pos` by `bits`."""
    word = _U32.unpack_from(buf, pos)[0]
    _U32.pack_into(buf, pos, (word & ~clear & 0xFFFF_FFFF) | bits)


def _adr_imm(buf: bytearray, pos: int, imm: int) -> None:
    """ADR/ADRP: immlo in bits 29-30, immhi in bits 5-23."""
    _insn(buf, pos, (0x3 << 29) | (0x7FFFF << 5), ((imm & 0x3) << 29) | (((imm >> 2) & 0x7FFFF) << 5))


def _adrp(buf: bytearray, pos: int, value: int) -> None:
    _check(value, -(1 << 32), 1 << 32)
    _adr_imm(buf, pos, value >> 12)


def _adrp_nc(buf: bytearray, pos: int, value: int) -> None:
    _adr_imm(buf, pos, value >> 12)


def _adr(buf: bytearray, pos: int, value: int) -> None:
    _check(value, -(1 << 20), 1 << 20)
    _adr_imm(buf, pos, value)


def _lo12(shift: int) -> Field:
    """ADD/LDR/STR immediate, bits 10-21: the low 12 bits of the address, scaled by the
    access size (the address must be aligned to it)."""

    def field(buf: bytearray, pos: int, value: int) -> None:
        lo = value & 0xFFF
        if lo & ((1 << shift) - 1):
            raise _Overflow  # misaligned for the access size
        _insn(buf, pos, 0xFFF << 10, (lo >> shift) << 10)

    return field


def _branch(bits: int, lsb: int) -> Field:
    """B/BL (26 bits), B.cond/CBZ/LDR literal (19), TBZ (14): word offset, signed."""
    span = 1 << (bits + 1)
    mask = (1 << bits) - 1

    def field(buf: bytearray, pos: int, value: int) -> None:
        if value & 3:
            raise _Overflow
        _check(value, -span, span)
        _insn(buf, pos, mask << lsb, ((value >> 2) & mask) << lsb)

    return field


# --- x86-64 GOTPCRELX relaxation -------------------------------------------------------

def _relax_gotpcrelx(buf: bytearray, pos: int) -> bool:
    """Rewrite an instruction that loads an address from the GOT to compute it instead,
    as ld does: `mov foo@GOTPCREL(%rip), %reg` -> `lea foo(%rip), %reg`, and
    `call *foo@GOTPCREL(%rip)` -> `addr32 call foo`.  The displacement stays at `pos`,
    so the relocation then resolves as PC32.  False if the instruction is another one."""
    if pos < 2:
        return False
    opcode, modrm = buf[pos - 2], buf[pos - 1]
    if opcode == 0x8B:  # mov r64, r/m64 with a RIP-relative operand
        buf[pos - 2] = 0x8D
        return True
    if opcode == 0xFF and modrm == 0x15:  # call *disp32(%rip)
        buf[pos - 2], buf[pos - 1] = 0x67, 0xE8
        return True
    return False


# --- stubs: how a call reaches an imported function (a PLT entry, bound at load) ------

def _x86_64_stub(addr: int, slot: int) -> bytes:
    # jmp *slot(%rip); int3; int3
    return b"\xff\x25" + struct.pack("<i", slot - (addr + 6)) + b"\xcc\xcc"


def _aarch64_stub(addr: int, slot: int) -> bytes:
    # adrp x16, slot; ldr x17, [x16, :lo12:slot]; br x17; nop
    code = bytearray(struct.pack("<4I", 0x90000010, 0xF9400211, 0xD61F0220, 0xD503201F))
    _adrp(code, 0, (slot & ~0xFFF) - (addr & ~0xFFF))
    _lo12(3)(code, 4, slot)
    return bytes(code)


# --- the tables ------------------------------------------------------------------------

@dataclass(frozen=True)
class Howto:
    name: str
    formula: Formula | None  # None: nothing to do (R_*_NONE)
    field: Field
    dynamic: bool = False  # an absolute address: needs a RELATIVE relocation at load
    got: bool = False  # needs a GOT slot for the symbol
    relax: Callable[[bytearray, int], bool] | None = None  # may avoid the GOT (see above)
    unloaded_only: bool = False  # an absolute 32-bit address: only in non-allocated sections
    call: bool = False  # a call or jump: may go through a stub to an imported function


@dataclass(frozen=True)
class Machine:
    e_machine: int
    name: str
    howtos: dict[int, Howto]
    relative_type: int  # R_*_RELATIVE
    page_size: int  # the largest page size the ABI allows: segments align to it
    got_slot_has_addend: bool  # AArch64 GOT slots hold S+A (GDAT(S+A)); x86-64 ones hold S
    glob_dat_type: int  # R_*_GLOB_DAT: a GOT slot set to an imported symbol's address
    stub: Callable[[int, int], bytes]  # (stub address, GOT slot address) -> code jumping there
    stub_size: int


X86_64 = Machine(
    EM_X86_64, "x86-64",
    {
        0: Howto("R_X86_64_NONE", None, _none),
        1: Howto("R_X86_64_64", _s_a, _word64, dynamic=True),
        2: Howto("R_X86_64_PC32", _s_a_p, _sword32),
        4: Howto("R_X86_64_PLT32", _s_a_p, _sword32, call=True),
        9: Howto("R_X86_64_GOTPCREL", _g_a_p, _sword32, got=True),
        10: Howto("R_X86_64_32", _s_a, _uword32, unloaded_only=True),
        11: Howto("R_X86_64_32S", _s_a, _sword32, unloaded_only=True),
        24: Howto("R_X86_64_PC64", _s_a_p, _word64),
        32: Howto("R_X86_64_SIZE32", _z_a, _uword32),
        33: Howto("R_X86_64_SIZE64", _z_a, _word64),
        41: Howto("R_X86_64_GOTPCRELX", _g_a_p, _sword32, got=True, relax=_relax_gotpcrelx),
        42: Howto("R_X86_64_REX_GOTPCRELX", _g_a_p, _sword32, got=True, relax=_relax_gotpcrelx),
    },
    relative_type=8,  # R_X86_64_RELATIVE
    page_size=0x1000,
    got_slot_has_addend=False,
    glob_dat_type=6,  # R_X86_64_GLOB_DAT
    stub=_x86_64_stub,
    stub_size=8,
)

AARCH64 = Machine(
    EM_AARCH64, "AArch64",
    {
        0: Howto("R_AARCH64_NONE", None, _none),
        256: Howto("R_AARCH64_NONE", None, _none),
        257: Howto("R_AARCH64_ABS64", _s_a, _word64, dynamic=True),
        258: Howto("R_AARCH64_ABS32", _s_a, _word32, unloaded_only=True),
        260: Howto("R_AARCH64_PREL64", _s_a_p, _word64),
        261: Howto("R_AARCH64_PREL32", _s_a_p, _word32),
        262: Howto("R_AARCH64_PREL16", _s_a_p, _word16),
        273: Howto("R_AARCH64_LD_PREL_LO19", _s_a_p, _branch(19, 5)),
        274: Howto("R_AARCH64_ADR_PREL_LO21", _s_a_p, _adr),
        275: Howto("R_AARCH64_ADR_PREL_PG_HI21", _page_s_a_p, _adrp),
        276: Howto("R_AARCH64_ADR_PREL_PG_HI21_NC", _page_s_a_p, _adrp_nc),
        277: Howto("R_AARCH64_ADD_ABS_LO12_NC", _s_a, _lo12(0)),
        278: Howto("R_AARCH64_LDST8_ABS_LO12_NC", _s_a, _lo12(0)),
        279: Howto("R_AARCH64_TSTBR14", _s_a_p, _branch(14, 5)),
        280: Howto("R_AARCH64_CONDBR19", _s_a_p, _branch(19, 5)),
        282: Howto("R_AARCH64_JUMP26", _s_a_p, _branch(26, 0), call=True),
        283: Howto("R_AARCH64_CALL26", _s_a_p, _branch(26, 0), call=True),
        284: Howto("R_AARCH64_LDST16_ABS_LO12_NC", _s_a, _lo12(1)),
        285: Howto("R_AARCH64_LDST32_ABS_LO12_NC", _s_a, _lo12(2)),
        286: Howto("R_AARCH64_LDST64_ABS_LO12_NC", _s_a, _lo12(3)),
        299: Howto("R_AARCH64_LDST128_ABS_LO12_NC", _s_a, _lo12(4)),
        311: Howto("R_AARCH64_ADR_GOT_PAGE", _page_g_p, _adrp, got=True),
        312: Howto("R_AARCH64_LD64_GOT_LO12_NC", _g, _lo12(3), got=True),
    },
    relative_type=1027,  # R_AARCH64_RELATIVE
    page_size=0x10000,  # AArch64 Linux runs with 4K, 16K or 64K pages
    got_slot_has_addend=True,
    glob_dat_type=1025,  # R_AARCH64_GLOB_DAT
    stub=_aarch64_stub,
    stub_size=16,
)

MACHINES = {m.e_machine: m for m in (X86_64, AARCH64)}


def apply(howto: Howto, buf: bytearray, pos: int, s: int, a: int, p: int, g: int, z: int) -> int:
    """Compute and write one relocation; returns the value written."""
    value = howto.formula(s, a, p, g, z) if howto.formula else 0
    try:
        howto.field(buf, pos, value)
    except _Overflow:
        raise RelocationError(
            f"{howto.name} at 0x{p:x}: value 0x{value & 0xFFFF_FFFF_FFFF_FFFF:x} does not fit "
            "the field (out of range or misaligned)"
        ) from None
    return value


# What a GOTPCRELX becomes once `_relax_gotpcrelx` rewrote its instruction.
RELAXED_GOTPCRELX = Howto("R_X86_64_GOTPCRELX (relaxed to PC32)", _s_a_p, _sword32)


# --- the passes ------------------------------------------------------------------------

@dataclass(frozen=True)
class Target:
    """Where a symbol is once sections are placed.  `absolute` (SHN_ABS) symbols are the
    same at any load address: never a RELATIVE relocation.  `imported` ones are resolved
    by the dynamic loader; their `address` is that of their stub (0 if none)."""

    address: int
    size: int
    absolute: bool = False
    imported: bool = False


@dataclass
class Fixup:
    """One relocation, decided (relaxed, GOT slot chosen) before layout."""

    section: OutputSection
    pos: int  # offset in section.data
    howto: Howto
    symbol: int
    addend: int
    got_slot: int  # -1 if none
    dynamic: bool  # leaves a RELATIVE relocation at `pos`


class Relocator:
    """Scans the input relocations before layout (GOT slots, stubs, relaxations, sections
    that need load-time relocations), then applies them once addresses are known."""

    def __init__(self, machine: Machine, is_absolute: Callable[[int], bool],
                 is_imported: Callable[[int], bool]) -> None:
        self.machine = machine
        self.is_absolute = is_absolute
        self.is_imported = is_imported
        self.fixups: list[Fixup] = []
        self.got_slots: dict[tuple[int, int], int] = {}  # (symbol, addend) -> slot index
        self.stubs: dict[int, int] = {}  # imported symbol -> stub index

    def _got_slot(self, sym: int, addend: int) -> int:
        key = (sym, addend if self.machine.got_slot_has_addend else 0)
        return self.got_slots.setdefault(key, len(self.got_slots))

    def scan(self, section: OutputSection, base: int, relocs: list[tuple[int, int, int, int]],
             where: str) -> None:
        howtos = self.machine.howtos
        loaded = bool(section.flags & SHF_ALLOC)
        for r_offset, r_type, r_sym, r_addend in relocs:
            howto = howtos.get(r_type)
            if howto is None:
                raise RelocationError(
                    f"unsupported {self.machine.name} relocation type {r_type} in {where}")
            if howto.formula is None:
                continue
            pos = base + r_offset
            if howto.unloaded_only and loaded:
                raise RelocationError(
                    f"{howto.name} in {where}: an absolute 32-bit address cannot be "
                    "relocated at load time (was the object compiled as PIC?)")
            if self.is_imported(r_sym):
                if howto.call:
                    self.stubs.setdefault(r_sym, len(self.stubs))
                    self._got_slot(r_sym, 0)
                elif not howto.got:
                    raise RelocationError(f"{howto.name} in {where} against an imported symbol: "
                                          "only calls and GOT loads can reach one")
                slot = self._got_slot(r_sym, r_addend) if howto.got else -1
                self.fixups.append(Fixup(section, pos, howto, r_sym, r_addend, slot, False))
                continue
            absolute = self.is_absolute(r_sym)
            if howto.relax is not None and not absolute and howto.relax(section.data, pos):
                howto = RELAXED_GOTPCRELX
            slot = self._got_slot(r_sym, r_addend) if howto.got else -1
            dynamic = howto.dynamic and loaded and not absolute
            if dynamic:
                if section.flags & SHF_EXECINSTR:
                    raise RelocationError(
                        f"{howto.name} in {where}: an absolute address in code would need a "
                        "text relocation (was the object compiled as PIC?)")
                if not section.flags & SHF_WRITE:
                    section.make_relro()
            self.fixups.append(Fixup(section, pos, howto, r_sym, r_addend, slot, dynamic))

    def n_relative(self) -> int:
        """How many RELATIVE relocations `apply` and `got_contents` will add."""
        return (sum(f.dynamic for f in self.fixups)
                + sum(not self.is_absolute(s) and not self.is_imported(s) for s, _ in self.got_slots))

    def n_symbolic(self) -> int:
        return sum(self.is_imported(s) for s, _ in self.got_slots)

    def apply(self, targets: list[Target | None], got_addr: int,
              add_relative: Callable[[int, int], None]) -> None:
        for f in self.fixups:
            t = targets[f.symbol]
            if t is None:
                raise RelocationError(f"{f.howto.name} against a symbol of a discarded section")
            p = f.section.addr + f.pos
            g = got_addr + 8 * f.got_slot
            value = apply(f.howto, f.section.data, f.pos, t.address, f.addend, p, g, t.size)
            if f.dynamic:
                add_relative(p, value)

    def got_contents(self, targets: list[Target | None], got_addr: int,
                     add_relative: Callable[[int, int], None],
                     add_symbolic: Callable[[int, int, int], None]) -> bytes:
        """The GOT: one address per slot, RELATIVE-relocated unless absolute; slots of
        imported symbols are left 0 for a GLOB_DAT relocation."""
        out = bytearray(8 * len(self.got_slots))
        for (sym, addend), slot in self.got_slots.items():
            t = targets[sym]
            if t is None:
                raise RelocationError("GOT entry for a symbol of a discarded section")
            if t.imported:
                add_symbolic(got_addr + 8 * slot, sym, addend)
                continue
            _U64.pack_into(out, 8 * slot, (t.address + addend) & 0xFFFF_FFFF_FFFF_FFFF)
            if not t.absolute:
                add_relative(got_addr + 8 * slot, t.address + addend)
        return bytes(out)

    def stub_code(self, stub_addr: int, got_addr: int) -> bytes:
        """The stubs, in stub index order, each jumping through its symbol's GOT slot."""
        m = self.machine
        return b"".join(
            m.stub(stub_addr + m.stub_size * index, got_addr + 8 * self.got_slots[(sym, 0)])
            for sym, index in self.stubs.items()
        )
