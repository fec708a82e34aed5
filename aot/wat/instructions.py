"""Instructions in the text format (spec 6.5): plain, structured (`block`, `loop`, `if`,
flat with `end` or folded), folded S-expressions, and their immediates.

Names, opcodes and immediate kinds come from `aot.wasm.opcodes` (the decoder's table, plus
the proposal instructions it lists for the text format); each immediate kind has one
reader here (`IMMEDIATES`).  Instructions are encoded straight into the function body.

A folded instruction `(op imm* folded*)` encodes its operands before itself.  Where an
immediate can add a function type to the module (the type use of a folded `call_indirect`,
the block type of a folded `if`), the type is resolved after the operands, so implicit
types are numbered in the order of the unfolded instructions, as wasm-tools numbers them.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aot.wasm.opcodes import OPCODES_BY_NAME
from aot.wat import numbers
from aot.wat.cursor import ID, KW, LP, NUM, RP, Cursor, known_keyword
from aot.wat.encoder import NameMap, sleb, uleb
from aot.wat.types import heaptype, refuse, typeuse, valtype

if TYPE_CHECKING:
    from aot.wat.parser import ModuleParser

Immediate = bytes | Callable[[], bytes]  # a callable: resolved once the operands are out


@dataclass(frozen=True)
class Op:
    name: str
    opcode: bytes
    imm: str  # immediate kind, as in aot.wasm.opcodes
    align: int  # natural alignment (log2) of memory accesses


def _opcode_bytes(code: int) -> bytes:
    if code <= 0xFF:
        return bytes((code,))
    return bytes((code >> 16,)) + uleb(code & 0xFFFF)


def _instructions() -> dict[str, Op]:
    table = {}
    for name, info in OPCODES_BY_NAME.items():
        table[name] = Op(name, _opcode_bytes(info.code), info.imm, info.align)
    for name in ("block", "loop", "if", "else", "end"):  # structure, parsed as such
        del table[name]
    # `select` is 0x1b, or the typed 0x1c when a (result ...) follows: its reader writes it.
    table["select"] = Op("select", b"", "select", -1)
    return table


INSTRUCTIONS = _instructions()
_BLOCKS = {"block": 0x02, "loop": 0x03, "if": 0x04}

# Instructions of proposals aot neither parses nor compiles: NotSupportedError by name.
_REFUSED = {
    **dict.fromkeys(["try", "catch", "catch_all", "throw", "rethrow", "throw_ref", "delegate",
                     "try_table"], "exception handling"),
    **dict.fromkeys(["call_ref", "return_call_ref", "ref.as_non_null", "br_on_null",
                     "br_on_non_null"], "function references"),
    **dict.fromkeys(["ref.eq", "ref.i31", "i31.get_s", "i31.get_u", "ref.test", "ref.cast",
                     "br_on_cast", "br_on_cast_fail", "any.convert_extern",
                     "extern.convert_any"], "GC"),
    **dict.fromkeys(["i64.add128", "i64.sub128", "i64.mul_wide_s", "i64.mul_wide_u"],
                    "wide arithmetic"),
}
_REFUSED_PREFIXES = (("struct.", "GC"), ("array.", "GC"))

_SHAPES = {  # v128.const shape -> (lane count, lane bits, float?)
    "i8x16": (16, 8, False), "i16x8": (8, 16, False), "i32x4": (4, 32, False),
    "i64x2": (2, 64, False), "f32x4": (4, 32, True), "f64x2": (2, 64, True),
}
_LANE_FORMAT = {8: "<B", 16: "<H", 32: "<I", 64: "<Q"}


def refused_proposal(name: str) -> str | None:
    proposal = _REFUSED.get(name)
    if proposal is None:
        for prefix, prop in _REFUSED_PREFIXES:
            if name.startswith(prefix):
                return prop
    return proposal


# Open constructs on the parser's stack (an explicit stack, so that deep nesting, such as
# the hundreds of blocks of a lowered switch, costs no Python recursion).
_FLAT = 0  # block/loop ... end
_FLAT_IF = 1  # if ... (else) ... end, before its else
_FLAT_ELSE = 2  # ... after its else
_FOLDED = 3  # (op imm* folded*): the operands come first
_FOLDED_BLOCK = 4  # (block ...) / (loop ...)
_CONDITION = 5  # (if label? bt folded* ...: the condition, up to (then
_THEN = 6  # (then instr*)
_ELSE = 7  # (else instr*)


class ExprParser:
    """Parses instruction sequences of one function (or constant expression) into bytes.
    `labels` is the stack of enclosing block labels (None for unnamed ones)."""

    def __init__(self, mp: ModuleParser, local_names: dict[str, int] | None = None,
                 in_function: bool = False) -> None:
        self.mp = mp
        self.c: Cursor = mp.c
        self.local_names = local_names or {}
        self.in_function = in_function
        self.labels: list[str | None] = []
        self.block_count = 0  # blocks so far, numbering labels for the name section
        self.label_names: NameMap = []

    def expression(self) -> bytes:
        """Instructions up to the closing `)` (consumed), with the final `end`."""
        out = bytearray()
        self.instrs(out)
        self.c.close()
        out.append(0x0B)
        return bytes(out)

    def folded_one(self) -> bytes:
        """One folded instruction, with `end`: the abbreviation `(instr)` of an offset or
        an element expression."""
        if not self.c.at(LP):
            raise self.c.unexpected()
        out = bytearray()
        self.instrs(out, one=True)
        out.append(0x0B)
        return bytes(out)

    def instrs(self, out: bytearray, one: bool = False) -> None:
        """Instructions, flat and folded, up to the `)` that closes the enclosing field
        (not consumed) or the end of input; with `one`, exactly one folded instruction."""
        c = self.c
        kinds, values = c.kinds, c.values
        stack: list[list] = []  # [state, ...]: see the states above
        while True:
            k = kinds[c.i]
            top = stack[-1][0] if stack else None
            if k == KW:
                if top in (_FOLDED, _CONDITION):  # operands must be folded
                    raise c.unexpected()
                name = values[c.i]
                op = INSTRUCTIONS.get(name)
                if op is not None:
                    c.i += 1
                    if op.imm == "none":
                        out += op.opcode
                    else:
                        imm = IMMEDIATES[op.imm](self, op)
                        out += op.opcode
                        out += imm if isinstance(imm, bytes) else imm()
                elif name in _BLOCKS:
                    c.i += 1
                    label = c.take_id()
                    self._enter(name, label, self.blocktype()(), out)
                    stack.append([_FLAT_IF if name == "if" else _FLAT])
                elif name == "else" and top == _FLAT_IF:
                    c.i += 1
                    self._end_label()
                    out.append(0x05)
                    stack[-1][0] = _FLAT_ELSE
                elif name == "end" and top in (_FLAT, _FLAT_IF, _FLAT_ELSE):
                    c.i += 1
                    self._end_label()
                    self._leave(out)
                    stack.pop()
                else:
                    raise self._unknown(name)
            elif k == LP:
                if top == _CONDITION and c.group() == "then":
                    frame = stack[-1]
                    self._enter("if", frame[1], frame[2](), out)
                    c.i += 2
                    frame[0] = _THEN
                    continue
                self._open(stack, out)
            elif k == RP and stack and top >= _FOLDED:
                c.i += 1
                frame = stack.pop()
                if top == _FOLDED:
                    out += frame[1]
                    imm = frame[2]
                    out += imm if isinstance(imm, bytes) else imm()
                elif top == _FOLDED_BLOCK:
                    self._leave(out)
                elif top == _CONDITION:
                    raise c.unexpected(c.i - 1)  # (if ...) without (then ...)
                elif top == _THEN and c.at_group("else"):
                    c.i += 2
                    out.append(0x05)
                    stack.append([_ELSE])
                    continue
                else:  # the end of (then ...) or (else ...): the if's `)` follows
                    c.close()
                    self._leave(out)
                if one and not stack:
                    return
            else:  # `)` of the enclosing field, the end of input, or a stray token
                if stack:
                    raise c.unexpected()
                return

    def _open(self, stack: list[list], out: bytearray) -> None:
        """A folded instruction's head: `(op imm*`, `(block label? bt`, `(loop ...`,
        `(if label? bt`."""
        c = self.c
        name = c.group()
        if name is None:
            raise c.unexpected(c.i + 1)
        op = INSTRUCTIONS.get(name)
        c.i += 2
        if op is not None:
            imm = b"" if op.imm == "none" else IMMEDIATES[op.imm](self, op)
            stack.append([_FOLDED, op.opcode, imm])
        elif name in ("block", "loop"):
            label = c.take_id()
            self._enter(name, label, self.blocktype()(), out)
            stack.append([_FOLDED_BLOCK])
        elif name == "if":
            label = c.take_id()
            stack.append([_CONDITION, label, self.blocktype()])  # its type after the condition
        else:
            raise self._unknown(name, c.i - 1)

    def _unknown(self, name: str, i: int | None = None) -> Exception:
        proposal = refused_proposal(name)
        if proposal is not None:
            return refuse(self.c, proposal, name, i)
        return self.c.unexpected(i)

    # ---- structured instructions -----------------------------------------------------

    def blocktype(self) -> Callable[[], bytes]:
        use = typeuse(self.c, self.mp.type_index, allow_names=False)
        if use.index is None and not use.params and len(use.results) <= 1:
            short = use.results[0] if use.results else b"\x40"
            return lambda: short
        return lambda: sleb(self.mp.typeuse_index(use))

    def _enter(self, name: str, label: str | None, bt: bytes, out: bytearray) -> None:
        out.append(_BLOCKS[name])
        out += bt
        if label is not None:
            self.label_names.append((self.block_count, label))
        self.block_count += 1
        self.labels.append(label)

    def _leave(self, out: bytearray) -> None:
        out.append(0x0B)
        self.labels.pop()

    def _end_label(self) -> None:
        """The optional `$id` after `end` or `else`, which must repeat the block's label."""
        c = self.c
        if c.at(ID):
            if c.values[c.i] != self.labels[-1]:
                raise c.error(f"mismatching label ${c.values[c.i]}")
            c.i += 1

    # ---- indices ---------------------------------------------------------------------

    def label(self) -> int:
        c = self.c
        if c.at(ID):
            name = c.values[c.i]
            for depth, label in enumerate(reversed(self.labels)):
                if label == name:
                    c.i += 1
                    return depth
            raise c.error(f"unknown label ${name}")
        return c.nat()

    def local(self) -> int:
        c = self.c
        if c.at(ID):
            index = self.local_names.get(c.values[c.i])
            if index is None:
                raise c.error(f"unknown local ${c.values[c.i]}")
            c.i += 1
            return index
        return c.nat()

    def at_index(self, offset: int = 0) -> bool:
        """Whether the token `offset` ahead can be an index ($name or number)."""
        return self.c.kinds[self.c.i + offset] in (ID, NUM)


# ---- immediates, one reader per kind -------------------------------------------------


def _label(ep: ExprParser, op: Op) -> bytes:
    return uleb(ep.label())


def _br_table(ep: ExprParser, op: Op) -> bytes:
    targets = []
    while ep.at_index():
        targets.append(uleb(ep.label()))
    if not targets:
        raise ep.c.unexpected()
    return uleb(len(targets) - 1) + b"".join(targets)


def _space(space: str) -> Callable[[ExprParser, Op], bytes]:
    def read(ep: ExprParser, op: Op) -> bytes:
        return uleb(ep.mp.index(space))

    return read


def _optional_space(space: str) -> Callable[[ExprParser, Op], bytes]:
    def read(ep: ExprParser, op: Op) -> bytes:
        return uleb(ep.mp.index(space)) if ep.at_index() else b"\x00"

    return read


def _local(ep: ExprParser, op: Op) -> bytes:
    return uleb(ep.local())


def _call_indirect(ep: ExprParser, op: Op) -> Immediate:
    table = ep.mp.index("table") if ep.at_index() else 0
    use = typeuse(ep.c, ep.mp.type_index, allow_names=False)
    return lambda: uleb(ep.mp.typeuse_index(use)) + uleb(table)


def _memarg_fields(ep: ExprParser, op: Op, memory: int) -> bytes:
    """`offset=N? align=N?` of a memory access to `memory`, encoded with the memory index
    (multi-memory: flag 0x40 in the alignment field when it is not memory 0)."""
    c = ep.c
    offset = 0
    align = op.align
    word = c.keyword()
    if word is not None and word.startswith("offset="):
        offset = _memarg_number(c, word[7:])
        bits = 64 if ep.mp.memory64(memory) else 32
        if offset >> bits:
            raise c.error(f"i{bits} constant out of range: {word}")
        c.i += 1
        word = c.keyword()
    if word is not None and word.startswith("align="):
        value = _memarg_number(c, word[6:])
        if value & (value - 1) or not value:
            raise c.error(f"alignment must be a power of two: {word}")
        align = value.bit_length() - 1
        c.i += 1
    if memory == 0:
        return uleb(align) + uleb(offset)
    return uleb(align | 0x40) + uleb(memory) + uleb(offset)


def _memarg_number(c: Cursor, text: str) -> int:
    if not numbers.is_nat(text):
        raise c.unexpected()
    return numbers.nat(text)


def _memarg(ep: ExprParser, op: Op) -> bytes:
    memory = ep.mp.index("memory") if ep.at_index() else 0
    return _memarg_fields(ep, op, memory)


def _memarg_lane(ep: ExprParser, op: Op) -> bytes:
    # `v128.load8_lane 1 2`: memory 1, lane 2; `v128.load8_lane 1`: lane 1.  A leading
    # number is a memory index when another number or a memarg field follows it.
    c = ep.c
    memory = 0
    if c.at(ID) or (c.at(NUM) and (c.kinds[c.i + 1] == NUM or (
            c.kinds[c.i + 1] == KW and c.values[c.i + 1].startswith(("offset=", "align="))))):
        memory = ep.mp.index("memory")
    return _memarg_fields(ep, op, memory) + bytes((_lane_index(c),))


def _lane_index(c: Cursor) -> int:
    i = c.i
    if not c.at_nat():
        raise c.unexpected()
    value = numbers.nat(c.values[i])
    if value > 0xFF:
        raise c.error(f"malformed lane index {c.values[i]}", i)
    c.i += 1
    return value


def _lane(ep: ExprParser, op: Op) -> bytes:
    return bytes((_lane_index(ep.c),))


def _integer(c: Cursor, bits: int) -> int:
    i = c.i
    text = c.values[i]
    if c.kinds[i] != NUM or not numbers.is_int(text):
        raise c.unexpected()
    try:
        value = numbers.integer(text, bits)
    except numbers.LiteralError as e:
        raise c.error(f"{e}: {text}", i) from None
    c.i += 1
    return value


def _float(c: Cursor, bits: int) -> int:
    i = c.i
    text = c.values[i]
    if c.kinds[i] not in (NUM, KW) or not numbers.is_float(text):
        raise c.unexpected()
    try:
        value = numbers.float_bits(text, bits)
    except numbers.LiteralError as e:
        raise c.error(f"{e}: {text}", i) from None
    c.i += 1
    return value


def _i32(ep: ExprParser, op: Op) -> bytes:
    return sleb(numbers.signed(_integer(ep.c, 32), 32))


def _i64(ep: ExprParser, op: Op) -> bytes:
    return sleb(numbers.signed(_integer(ep.c, 64), 64))


def _f32(ep: ExprParser, op: Op) -> bytes:
    return struct.pack("<I", _float(ep.c, 32))


def _f64(ep: ExprParser, op: Op) -> bytes:
    return struct.pack("<Q", _float(ep.c, 64))


def _literals(c: Cursor) -> int:
    """How many number tokens (inf and nan included) follow.  An unknown keyword where
    they end (`nan:1`) is an unknown operator rather than a missing lane."""
    n = 0
    kinds, values = c.kinds, c.values
    while kinds[c.i + n] == NUM or (kinds[c.i + n] == KW and numbers.is_float(values[c.i + n])):
        n += 1
    if kinds[c.i + n] == KW and not known_keyword(values[c.i + n]):
        raise c.unexpected(c.i + n)
    return n


def _v128(ep: ExprParser, op: Op) -> bytes:
    c = ep.c
    shape = _SHAPES.get(c.keyword() or "")
    if shape is None:
        raise c.unexpected()
    c.i += 1
    count, bits, is_float = shape
    if _literals(c) != count:
        raise c.error(f"wrong number of lane literals: v128.const {c.values[c.i - 1]} "
                      f"takes {count}")
    fmt = _LANE_FORMAT[bits]
    read = _float if is_float else _integer
    return b"".join(struct.pack(fmt, read(c, bits)) for _ in range(count))


def _shuffle(ep: ExprParser, op: Op) -> bytes:
    c = ep.c
    n = _literals(c)
    if n != 16:
        raise c.error(f"invalid lane length: i8x16.shuffle takes 16 lane indices, not {n}")
    lanes = bytearray()
    for _ in range(16):
        text = c.values[c.i]
        if not numbers.is_nat(text) or numbers.nat(text) > 0xFF:
            raise c.error(f"malformed lane index {text}")
        lanes.append(numbers.nat(text))
        c.i += 1
    return bytes(lanes)


def _select(ep: ExprParser, op: Op) -> bytes:
    """The whole instruction: 0x1b, or 0x1c and its types after `(result ...)`."""
    c = ep.c
    if not c.at_group("result"):
        return b"\x1b"
    types = []
    while c.at_group("result"):
        c.i += 2
        while not c.at(RP):
            types.append(valtype(c, ep.mp.type_index))
        c.close()
    return b"\x1c" + uleb(len(types)) + b"".join(types)


def _reftype(ep: ExprParser, op: Op) -> bytes:
    return heaptype(ep.c, ep.mp.type_index)


def _two_indices(first: str, second: str) -> Callable[[ExprParser, Op], bytes]:
    """`op first? second` (table.init, memory.init): one index is the second kind."""

    def read(ep: ExprParser, op: Op) -> bytes:
        if second == "data" and ep.in_function:
            ep.mp.module.data_count = True
        if ep.at_index() and ep.at_index(1):
            a = ep.mp.index(first)
            return uleb(ep.mp.index(second)) + uleb(a)
        return uleb(ep.mp.index(second)) + b"\x00"

    return read


def _copy(space: str) -> Callable[[ExprParser, Op], bytes]:
    """`op (dst src)?` (table.copy, memory.copy): both indices or neither."""

    def read(ep: ExprParser, op: Op) -> bytes:
        if not ep.at_index():
            return b"\x00\x00"
        dst = ep.mp.index(space)
        return uleb(dst) + uleb(ep.mp.index(space))

    return read


def _data(ep: ExprParser, op: Op) -> bytes:
    if ep.in_function:
        ep.mp.module.data_count = True
    return uleb(ep.mp.index("data"))


def _fence(ep: ExprParser, op: Op) -> bytes:
    return b"\x00"


IMMEDIATES: dict[str, Callable[[ExprParser, Op], Immediate]] = {
    "label": _label,
    "br_table": _br_table,
    "func": _space("func"),
    "call_indirect": _call_indirect,
    "local": _local,
    "global": _space("global"),
    "table": _optional_space("table"),
    "memarg": _memarg,
    "memory": _optional_space("memory"),
    "i32": _i32,
    "i64": _i64,
    "f32": _f32,
    "f64": _f64,
    "select": _select,
    "reftype": _reftype,
    "v128": _v128,
    "shuffle": _shuffle,
    "lane": _lane,
    "memarg_lane": _memarg_lane,
    "table_copy": _copy("table"),
    "table_init": _two_indices("table", "elem"),
    "elem": _space("elem"),
    "memory_init": _two_indices("memory", "data"),
    "data": _data,
    "memory_copy": _copy("memory"),
    "fence": _fence,
}

__all__ = ["IMMEDIATES", "INSTRUCTIONS", "ExprParser", "Op", "refused_proposal"]
