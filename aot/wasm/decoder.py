"""The binary decoder: bytes -> `Module` (spec chapter 5), with the reference
interpreter's error messages (the spec suite matches on them).

The decoder checks everything the binary format itself requires (structure, LEB128
ranges, section order and sizes, opcodes, immediates, block nesting, the function/code
and data count consistency) and nothing the validator checks (types, indices), except
that a block type index is resolved here, so it must name an existing type.
"""

from __future__ import annotations

import contextlib
import gc
import zlib
from collections.abc import Callable, Container, Iterable, Iterator, Mapping
from typing import Any

from aot.errors import CompileError
from aot.wasm import limits, proposals
from aot.wasm.instr import Instr
from aot.wasm.module import (
    BodyFacts,
    DataSegment,
    ElemSegment,
    Export,
    FuncBody,
    Global,
    Import,
    Module,
    Names,
    body_key,
)
from aot.wasm.opcodes import (
    BLOCK,
    DATA_DROP,
    ELSE,
    END,
    IF,
    LOOP,
    MEMORY_INIT,
    OPCODES,
    REF_FUNC,
)
from aot.wasm.reader import (
    UNEXPECTED_END,
    Reader,
    decode_name,
    read_fixed,
    read_len,
    read_name,
    read_s32,
    read_s33,
    read_s64,
    read_u32,
    read_u64,
)
from aot.wasm.types import (
    ExternKind,
    FuncType,
    GlobalType,
    Limits,
    MemoryType,
    TableType,
    ValType,
)

MAGIC = b"\x00asm"
VERSION = b"\x01\x00\x00\x00"

# Implementation limit on declared locals per function (the spec's is 2**32-1; V8 and
# wasmtime use 50000).  Also keeps a hostile count from expanding into a huge list.
MAX_LOCALS = limits.MAX_LOCALS

# Section ids in the order they must appear (custom sections, id 0, go anywhere).
SECTION_ORDER = {1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 6, 7: 7, 8: 8, 9: 9, 12: 10, 10: 11, 11: 12}

_VALTYPES: dict[int, ValType] = {int(v): v for v in ValType}
_REFTYPES: dict[int, ValType] = {0x70: ValType.FUNCREF, 0x6F: ValType.EXTERNREF}
_EMPTY_BLOCK = FuncType((), ())
_SINGLE_BLOCK = {b: FuncType((), (vt,)) for b, vt in _VALTYPES.items()}


def _valtype(data: bytes, pos: int) -> tuple[ValType, int]:
    vt = _VALTYPES.get(data[pos])
    if vt is None:
        raise _bad_valtype(data[pos], pos)
    return vt, pos + 1


def _bad_valtype(byte: int, pos: int) -> CompileError:
    proposal = proposals.VALTYPES.get(byte)
    if proposal is not None:
        return proposals.refuse(proposal, f"value type 0x{byte:02x}", "malformed value type", pos)
    return CompileError("malformed value type", pos)


def _reftype(data: bytes, pos: int) -> tuple[ValType, int]:
    vt = _REFTYPES.get(data[pos])
    if vt is None:
        raise CompileError("malformed reference type", pos)
    return vt, pos + 1


# --- immediate readers, one per immediate kind: (data, pos) -> (imm, pos) ---
# All index immediates are plain u32s, so they share read_u32.


def _imm_br_table(data: bytes, pos: int) -> tuple[Any, int]:
    n, pos = read_len(data, pos)
    targets = []
    for _ in range(n):
        t, pos = read_u32(data, pos)
        targets.append(t)
    default, pos = read_u32(data, pos)
    return (tuple(targets), default), pos


def _imm_u32_pair(data: bytes, pos: int) -> tuple[Any, int]:
    a, pos = read_u32(data, pos)
    b, pos = read_u32(data, pos)
    return (a, b), pos


def _zero_byte(data: bytes, pos: int) -> int:
    # 2.0 reserves a single 0x00 byte for the memory index (not a LEB128 zero).
    if data[pos] != 0:
        raise CompileError("zero byte expected", pos)
    return pos + 1


def _imm_memory(data: bytes, pos: int) -> tuple[Any, int]:
    return 0, _zero_byte(data, pos)


def _imm_memarg(data: bytes, pos: int, read_offset: ImmReader = read_u32) -> tuple[Any, int]:
    start = pos
    b = data[pos]
    if b < 0x20:
        align = b
        pos += 1
    else:
        # Alignment 2**32 and up, and bit 6 (multi-memory's memory index flag), are
        # malformed in 2.0.
        align, pos = read_u32(data, pos)
        if 0x40 <= align < 0x60:
            raise CompileError("malformed memop flags (a memory index: the multi-memory "
                               "proposal, which is off)", start)
        if align >= 0x20:
            raise CompileError("malformed memop flags", start)
    offset, pos = read_offset(data, pos)
    return (align, offset, 0), pos


def _imm_memarg_lane(data: bytes, pos: int) -> tuple[Any, int]:
    (align, offset, mem), pos = _imm_memarg(data, pos)
    return (align, offset, mem, data[pos]), pos + 1


# --- the multi-memory proposal's encodings: memory indices where 2.0 has zero bytes ---

MEMORY_INDEX_FLAG = 0x40  # in a memarg's alignment field: a memory index follows


def _imm_memarg_mm(data: bytes, pos: int, read_offset: ImmReader = read_u32) -> tuple[Any, int]:
    start = pos
    flags, pos = read_u32(data, pos)
    if flags >= 2 * MEMORY_INDEX_FLAG:
        raise CompileError("malformed memop flags", start)
    memory = 0
    if flags & MEMORY_INDEX_FLAG:
        memory, pos = read_u32(data, pos)
        flags &= ~MEMORY_INDEX_FLAG
    # An alignment of 2**32 or more is invalid (larger than natural), no longer malformed.
    offset, pos = read_offset(data, pos)
    return (flags, offset, memory), pos


def _imm_memarg_lane_mm(data: bytes, pos: int) -> tuple[Any, int]:
    (align, offset, mem), pos = _imm_memarg_mm(data, pos)
    return (align, offset, mem, data[pos]), pos + 1


# memory64: offsets are u64s (the validator bounds those of 32-bit memories by 2**32),
# in 2.0's encodings or multi-memory's.
def _memarg_u64(memarg: Callable) -> tuple[ImmReader, ImmReader]:
    def reader(data: bytes, pos: int) -> tuple[Any, int]:
        return memarg(data, pos, read_u64)

    def lane_reader(data: bytes, pos: int) -> tuple[Any, int]:
        (align, offset, mem), pos = memarg(data, pos, read_u64)
        return (align, offset, mem, data[pos]), pos + 1

    return reader, lane_reader


def _imm_memory_init_mm(data: bytes, pos: int) -> tuple[Any, int]:
    seg, pos = read_u32(data, pos)
    memory, pos = read_u32(data, pos)
    return (seg, memory), pos


def _imm_lane(data: bytes, pos: int) -> tuple[Any, int]:
    return data[pos], pos + 1


def _imm_16_bytes(data: bytes, pos: int) -> tuple[Any, int]:
    end = pos + 16
    if end > len(data):
        raise CompileError(UNEXPECTED_END, len(data))
    return data[pos:end], end


def _imm_f32(data: bytes, pos: int) -> tuple[Any, int]:
    return read_fixed(data, pos, 4)


def _imm_f64(data: bytes, pos: int) -> tuple[Any, int]:
    return read_fixed(data, pos, 8)


def _imm_select_t(data: bytes, pos: int) -> tuple[Any, int]:
    n, pos = read_len(data, pos)
    types = []
    for _ in range(n):
        vt, pos = _valtype(data, pos)
        types.append(vt)
    return tuple(types), pos


def _imm_memory_init(data: bytes, pos: int) -> tuple[Any, int]:
    seg, pos = read_u32(data, pos)
    return (seg, 0), _zero_byte(data, pos)


def _imm_memory_copy(data: bytes, pos: int) -> tuple[Any, int]:
    return (0, 0), _zero_byte(data, _zero_byte(data, pos))


def _imm_fence(data: bytes, pos: int) -> tuple[Any, int]:
    return 0, _zero_byte(data, pos)  # atomic.fence's reserved flags byte


ImmReader = Callable[[bytes, int], tuple[Any, int]]

IMM_READERS: dict[str, ImmReader | None] = {
    "none": None,
    "block": None,  # needs the type section: handled in the decode loop
    "label": read_u32,
    "br_table": _imm_br_table,
    "func": read_u32,
    "call_indirect": _imm_u32_pair,
    "local": read_u32,
    "global": read_u32,
    "table": read_u32,
    "memarg": _imm_memarg,
    "memory": _imm_memory,
    "i32": read_s32,
    "i64": read_s64,
    "f32": _imm_f32,
    "f64": _imm_f64,
    "select_t": _imm_select_t,
    "reftype": _reftype,
    "v128": _imm_16_bytes,
    "shuffle": _imm_16_bytes,
    "lane": _imm_lane,
    "memarg_lane": _imm_memarg_lane,
    "table_copy": _imm_u32_pair,
    "table_init": _imm_u32_pair,
    "elem": read_u32,
    "memory_init": _imm_memory_init,
    "data": read_u32,
    "memory_copy": _imm_memory_copy,
    "fence": _imm_fence,
}

IMM_READERS_MULTI_MEMORY: dict[str, ImmReader | None] = {
    **IMM_READERS,
    "memarg": _imm_memarg_mm,
    "memarg_lane": _imm_memarg_lane_mm,
    "memory": read_u32,
    "memory_init": _imm_memory_init_mm,
    "memory_copy": _imm_u32_pair,
}

# Dispatch tables.  One-byte opcodes: _NO_IMM marks immediate-free ops, a function reads
# the immediate, None (absent) is an illegal opcode.  Prefixed: (op number, reader).
_NO_IMM: Any = object()
_CTRL: Any = object()
_BLOCKS = (BLOCK, LOOP, IF)


def _dispatch_tables(readers: dict[str, ImmReader | None]):
    one_byte: list[Any] = [None] * 256
    prefixed: dict[int, tuple[int, ImmReader | None]] = {}
    for code, info in OPCODES.items():
        reader = readers[info.imm]
        if code <= 0xFF:
            one_byte[code] = _NO_IMM if reader is None else reader
        else:
            prefixed[code] = (code, reader)
    for op in (*_BLOCKS, ELSE, END):
        one_byte[op] = _CTRL  # control structure: handled inline by the decode loop
    return one_byte, prefixed




def _with_u64_offsets(readers: dict[str, ImmReader | None], memarg: Callable) -> dict:
    reader, lane_reader = _memarg_u64(memarg)
    return {**readers, "memarg": reader, "memarg_lane": lane_reader}


# By (`Module.multi_memory`, `Module.memory64`): WebAssembly 2.0's encodings or
# multi-memory's, with memory64's u64 offsets or not.
_TABLES = {
    (False, False): _dispatch_tables(IMM_READERS),
    (True, False): _dispatch_tables(IMM_READERS_MULTI_MEMORY),
    (False, True): _dispatch_tables(_with_u64_offsets(IMM_READERS, _imm_memarg)),
    (True, True): _dispatch_tables(_with_u64_offsets(IMM_READERS_MULTI_MEMORY, _imm_memarg_mm)),
}
# By `Module.threads`: 0xFE prefixes the atomic instructions, or is an illegal opcode.
_PREFIXES = {False: (0xFC, 0xFD), True: (0xFC, 0xFD, 0xFE)}

# Block stack entries (what `else` may follow).
_B_BLOCK, _B_IF, _B_ELSE, _B_LOOP = 0, 1, 2, 3


class _Decoder:
    def __init__(self, data: bytes, bodies: Container[int] | None = None,
                 multi_memory: bool = True, memory64: bool = True, threads: bool = True,
                 on_body: BodyHook | None = None,
                 known: Mapping[bytes, BodyFacts] | None = None) -> None:
        self.data = data
        self.r = Reader(data)
        self.m = Module(multi_memory=multi_memory, memory64=memory64, threads=threads)
        self.bodies = bodies  # None: every function body; else only these (by index)
        self.on_body = on_body
        self.known = known  # facts of bodies checked before, by `body_key`
        self.uses_data_index = False  # memory.init / data.drop seen
        self._ftype_cache: dict[tuple, FuncType] = {}

    # --- instructions -------------------------------------------------------------

    def expr(self, pos: int, func_index: int | None = None) -> tuple[list[Instr], int]:
        """Decode instructions from `pos` through the `end` that closes the expression.
        The returned list includes that final `end`."""
        data = self.data
        types = self.m.types
        one_byte, prefixed = _TABLES[self.m.multi_memory, self.m.memory64]
        prefixes = _PREFIXES[self.m.threads]
        code: list[Instr] = []
        append = code.append
        blocks: list[int] = []
        loops = 0
        try:
            while True:
                start = pos
                op = data[pos]
                pos += 1
                r = one_byte[op]
                if r is _NO_IMM:
                    append(Instr(op, None, start))
                elif r is None:
                    if op in prefixes:
                        sub, pos = read_u32(data, pos)
                        entry = prefixed.get((op << 16) | sub)
                        if entry is None:
                            words = f"illegal opcode {op:02x} {sub}"
                            raise (proposals.opcode(op, sub, words, start)
                                   or CompileError(words, start))
                        full, rd = entry
                        if full == MEMORY_INIT or full == DATA_DROP:
                            self.uses_data_index = True
                        if rd is None:
                            append(Instr(full, None, start))
                        else:
                            imm, pos = rd(data, pos)
                            append(Instr(full, imm, start))
                    else:
                        # In a constant expression a proposal's one-byte instruction
                        # (a call, an exception) could not appear either: plainly illegal.
                        words = f"illegal opcode {op:02x}"
                        raise ((proposals.opcode(op, None, words, start)
                                if func_index is not None else None)
                               or CompileError(words, start))
                elif r is _CTRL:
                    if op == END:
                        append(Instr(op, None, start))
                        if not blocks:
                            return code, pos
                        if blocks.pop() == _B_LOOP:
                            loops -= 1
                    elif op == ELSE:
                        # Like the reference decoder: `else` outside an `if` ends the
                        # enclosing block, which then lacks its `end`.
                        if not blocks or blocks[-1] != _B_IF:
                            raise CompileError("END opcode expected", start)
                        blocks[-1] = _B_ELSE
                        append(Instr(op, None, start))
                    else:
                        b = data[pos]
                        if b == 0x40:
                            bt = _EMPTY_BLOCK
                            pos += 1
                        elif b in _SINGLE_BLOCK:
                            bt = _SINGLE_BLOCK[b]
                            pos += 1
                        else:
                            idx, p2 = read_s33(data, pos)
                            if idx < 0:
                                raise CompileError("malformed value type", pos)
                            if idx >= len(types):
                                raise CompileError(f"unknown type {idx}", pos)
                            bt = types[idx]
                            pos = p2
                        if op == LOOP:
                            blocks.append(_B_LOOP)
                            loops += 1
                            if loops > limits.MAX_LOOP_NESTING:
                                raise limits.exceeded(
                                    f"loops nested more than {limits.MAX_LOOP_NESTING:,} deep", start)
                        else:
                            blocks.append(_B_IF if op == IF else _B_BLOCK)
                        if len(blocks) > limits.MAX_NESTING:
                            raise limits.exceeded(
                                f"blocks nested more than {limits.MAX_NESTING:,} deep", start)
                        append(Instr(op, bt, start))
                else:
                    imm, pos = r(data, pos)
                    append(Instr(op, imm, start))
        except IndexError:
            raise CompileError(UNEXPECTED_END, len(data), func_index) from None
        except CompileError as e:
            if e.func_index is None and func_index is not None:
                raise e.at_function(func_index) from None
            raise

    def const_expr(self) -> list[Instr]:
        code, self.r.pos = self.expr(self.r.pos)
        code.pop()  # the final `end`
        return code

    # --- types ----------------------------------------------------------------------

    def valtype(self) -> ValType:
        r = self.r
        vt = _VALTYPES.get(r.u8())
        if vt is None:
            raise _bad_valtype(r.data[r.pos - 1], r.pos - 1)
        return vt

    def reftype(self) -> ValType:
        r = self.r
        vt = _REFTYPES.get(r.u8())
        if vt is None:
            raise CompileError("malformed reference type", r.pos - 1)
        return vt

    def functype(self) -> FuncType:
        r = self.r
        tag = r.u8()
        if tag != 0x60:
            # The tag is an s7 LEB128 (-0x20): a continuation bit makes it too long.
            msg = "integer representation too long" if tag & 0x80 else "malformed function type"
            if tag in proposals.TYPE_FORMS:
                raise proposals.refuse("GC", proposals.TYPE_FORMS[tag], msg, r.pos - 1)
            raise CompileError(msg, r.pos - 1)
        params = tuple(self._vec(lambda _: self.valtype(), limits.MAX_PARAMS, "parameters"))
        results = tuple(self._vec(lambda _: self.valtype(), limits.MAX_RESULTS, "results"))
        key = (params, results)
        ft = self._ftype_cache.get(key)
        if ft is None:
            ft = self._ftype_cache[key] = FuncType(params, results)
        return ft

    def _vec(self, item, limit: int, what: str) -> list:
        """A vector of at most `limit` items (`aot.wasm.limits`)."""
        r = self.r
        at = r.pos
        n = r.length()
        limits.check_count(n, limit, what, at)
        return [item(r) for _ in range(n)]

    def limits(self) -> Limits:
        """A table's limits: flags 0 (min) or 1 (min, max)."""
        r = self.r
        flag = r.data[r.pos] if r.pos < len(r.data) else 0
        if 4 <= flag <= 7:
            raise proposals.refuse("memory64", "a 64-bit table (table64)", "integer too large",
                                   r.pos)
        flag = r.u1()
        lo = r.u32()
        hi = r.u32() if flag else None
        return Limits(lo, hi)

    def memtype(self) -> MemoryType:
        """Flags: bit 0 a maximum follows, bit 1 shared (threads), bit 2 64-bit (memory64,
        whose limits are u64s)."""
        r = self.r
        at = r.pos
        flag = r.data[at] if at < len(r.data) else 0
        if 8 <= flag <= 15:
            raise proposals.refuse("custom page sizes", "a memory with a custom page size",
                                   "integer too large", at)
        # A shared memory always has a maximum: 0x03 (and memory64's 0x07) are its only
        # flags, 0x02 and 0x06 stay malformed as in 2.0.
        if flag in (3, 7) and not self.m.threads:
            raise proposals.refuse("threads", "a shared memory (the threads proposal is off)",
                                   "integer too large", at)
        if flag in (4, 5, 7) and not self.m.memory64:
            raise proposals.refuse("memory64", "a 64-bit memory (the memory64 proposal is off)",
                                   "integer too large", at)
        if flag in (3, 4, 5, 7):
            r.pos += 1
            read = r.u64 if flag & 4 else r.u32
            lo = read()
            hi = read() if flag & 1 else None
            return MemoryType(Limits(lo, hi), is64=bool(flag & 4), shared=bool(flag & 2))
        flag = r.u1()
        lo = r.u32()
        hi = r.u32() if flag else None
        return MemoryType(Limits(lo, hi))

    def tabletype(self) -> TableType:
        elem = self.reftype()
        return TableType(elem, self.limits())

    def globaltype(self) -> GlobalType:
        vt = self.valtype()
        r = self.r
        mut = r.u8()
        if mut > 1:
            raise CompileError("malformed mutability", r.pos - 1)
        return GlobalType(vt, bool(mut))

    # --- sections -------------------------------------------------------------------

    def module(self) -> Module:
        data = self.data
        r = self.r
        if len(data) < 4:
            raise CompileError(UNEXPECTED_END, len(data))
        if data[:4] != MAGIC:
            raise CompileError("magic header not detected", 0)
        if len(data) < 8:
            raise CompileError(UNEXPECTED_END, len(data))
        if data[4:8] != VERSION:
            if data[4:8] == proposals.COMPONENT_VERSION:
                raise proposals.refuse("the component model", "a component, not a core module",
                                       "unknown binary version", 4)
            raise CompileError("unknown binary version", 4)
        r.pos = 8
        last = 0
        handlers = {
            1: self.sec_type,
            2: self.sec_import,
            3: self.sec_function,
            4: self.sec_table,
            5: self.sec_memory,
            6: self.sec_global,
            7: self.sec_export,
            8: self.sec_start,
            9: self.sec_elem,
            12: self.sec_datacount,
            10: self.sec_code,
            11: self.sec_data,
        }
        while r.pos < len(data):
            sec_start = r.pos
            sid = r.u8()
            if sid > 12:
                if sid == proposals.TAG_SECTION:
                    raise proposals.refuse("exception handling", "a tag section",
                                           "malformed section id", sec_start)
                raise CompileError("malformed section id", sec_start)
            size = r.length()
            end = r.pos + size
            if sid == 0:
                self.sec_custom(end)
            else:
                order = SECTION_ORDER[sid]
                if order <= last:
                    raise CompileError("unexpected content after last section", sec_start)
                last = order
                handlers[sid]()
            if r.pos != end:
                raise CompileError("section size mismatch", r.pos)
        m = self.m
        if len(m.funcs) != len(m.codes):
            raise CompileError("function and code section have inconsistent lengths", len(data))
        if m.data_count is not None and m.data_count != len(m.datas):
            raise CompileError("data count and data section have inconsistent lengths", len(data))
        if self.uses_data_index and m.data_count is None:
            raise CompileError("data count section required", len(data))
        return m

    def sec_custom(self, end: int) -> None:
        r = self.r
        name = r.name()
        if r.pos > end:
            raise CompileError(UNEXPECTED_END, end)
        if end > len(self.data):  # (a length may count its own bytes: see read_len)
            raise CompileError(UNEXPECTED_END, len(self.data))
        payload = self.data[r.pos : end]
        r.pos = end
        self.m.customs.append((name, payload))
        if name == "name":
            self.m.names = parse_name_section(payload)

    def sec_type(self) -> None:
        self.m.types = self._vec(lambda _: self.functype(), limits.MAX_TYPES, "types")

    def sec_import(self) -> None:
        r = self.r
        readers = {
            0: lambda: r.u32(),
            1: self.tabletype,
            2: self.memtype,
            3: self.globaltype,
        }
        imports = self.m.imports
        at = r.pos
        n = r.length()
        limits.check_count(n, limits.MAX_IMPORTS, "imports", at)
        for _ in range(n):
            mod = r.name()
            name = r.name()
            kind = r.u8()
            rd = readers.get(kind)
            if rd is None:
                raise CompileError("malformed import kind", r.pos - 1)
            imports.append(Import(mod, name, ExternKind(kind), rd()))

    def sec_function(self) -> None:
        self.m.funcs = self._vec(lambda r: r.u32(), limits.MAX_FUNCTIONS, "functions")

    def sec_table(self) -> None:
        self.m.tables = self._vec(lambda _: self.tabletype(), limits.MAX_TABLES, "tables")

    def sec_memory(self) -> None:
        self.m.memories = self.r.vec(lambda _: self.memtype())

    def sec_global(self) -> None:
        self.m.globals = self._vec(lambda _: Global(self.globaltype(), self.const_expr()),
                                   limits.MAX_GLOBALS, "globals")

    def sec_export(self) -> None:
        r = self.r

        def export(_: Reader) -> Export:
            name = r.name()
            kind = r.u8()
            if kind > 3:
                raise CompileError("malformed export kind", r.pos - 1)
            return Export(name, ExternKind(kind), r.u32())

        self.m.exports = self._vec(export, limits.MAX_EXPORTS, "exports")

    def sec_start(self) -> None:
        self.m.start = self.r.u32()

    def sec_elem(self) -> None:
        self.m.elems = self._vec(lambda _: self.elem_segment(), limits.MAX_ELEMENT_SEGMENTS,
                                 "element segments")

    def elem_segment(self) -> ElemSegment:
        r = self.r
        flag_pos = r.pos
        flags = r.u32()
        if flags > 7:
            raise CompileError("malformed elements segment kind", flag_pos)
        # bit 0: passive/declarative, bit 1: explicit table index (active) or
        # declarative (otherwise), bit 2: expressions instead of function indices.
        passive = flags & 1
        table = 0
        offset = None
        if not passive:
            if flags & 2:
                table = r.u32()
            offset = self.const_expr()
        mode = ("declarative" if flags & 2 else "passive") if passive else "active"
        etype = ValType.FUNCREF
        if flags & 3:  # an element kind / type is present unless flags is 0 or 4
            if flags & 4:
                etype = self.reftype()
            else:
                kind_pos = r.pos
                if r.u8() != 0x00:
                    raise CompileError("malformed element kind", kind_pos)
        if flags & 4:
            init = r.vec(lambda _: self.const_expr())
        else:

            def func_ref(_: Reader) -> list[Instr]:
                p = r.pos
                return [Instr(REF_FUNC, r.u32(), p)]

            init = r.vec(func_ref)
        return ElemSegment(mode, etype, init, table, offset)

    def sec_datacount(self) -> None:
        self.m.data_count = self.r.u32()

    def sec_code(self) -> None:
        r = self.r
        n = r.length()
        base = self.m.num_imported_funcs
        codes = self.m.codes
        wanted = self.bodies
        known = self.known
        for i in range(n):
            if known and (body := self._known_body(known)) is not None:
                codes.append(body)
            elif wanted is None or base + i in wanted:
                body = self.func_body(base + i)
                codes.append(body if self.on_body is None
                             else self.on_body(self.m, base + i, body))
            else:  # only where it lies, for `decode_bodies`
                codes.append(self._skipped_body())

    def _skipped_body(self, facts: BodyFacts | None = None) -> FuncBody:
        """The next body, skipped undecoded: where it lies, its CRC-32 and `facts`."""
        r = self.r
        body_offset = r.pos
        size = r.length()
        r.pos += size
        return FuncBody([], [], body_offset, r.pos, zlib.crc32(r.data[body_offset:r.pos]), facts)

    def _known_body(self, known: Mapping[bytes, BodyFacts]) -> FuncBody | None:
        """The next body as a placeholder with its known facts, skipped undecoded; None
        (the reader where it was) when its bytes are not among those `known`."""
        r = self.r
        body_offset = r.pos
        end = r.length() + r.pos
        r.pos = body_offset
        facts = known.get(body_key(r.data, body_offset, end))
        return None if facts is None else self._skipped_body(facts)

    def func_body(self, func_index: int) -> FuncBody:
        r = self.r
        body_offset = r.pos
        size = r.length()
        if size > limits.MAX_FUNCTION_SIZE:
            raise limits.exceeded(f"a function body of {size:,} bytes, more than "
                                  f"{limits.MAX_FUNCTION_SIZE:,}", body_offset, func_index)
        body_start = r.pos
        end = body_start + size
        locals_: list[ValType] = []
        total = 0
        for _ in range(r.length()):
            count_pos = r.pos
            count = r.u32()
            vt = self.valtype()
            total += count
            if total > MAX_LOCALS:
                raise CompileError("too many locals", count_pos, func_index)
            locals_.extend([vt] * count)
        code, r.pos = self.expr(r.pos, func_index)
        if r.pos != end:
            raise CompileError("section size mismatch", r.pos, func_index)
        return FuncBody(locals_, code, body_offset, end, zlib.crc32(r.data[body_offset:end]))

    def sec_data(self) -> None:
        self.m.datas = self._vec(lambda _: self.data_segment(), limits.MAX_DATA_SEGMENTS,
                                 "data segments")

    def data_segment(self) -> DataSegment:
        r = self.r
        flag_pos = r.pos
        flags = r.u32()
        if flags > 2:
            raise CompileError("malformed data segment kind", flag_pos)
        if flags == 1:
            n = r.length()
            start = r.pos
            return DataSegment("passive", r.bytes(n), data_offset=start)
        memory = r.u32() if flags == 2 else 0
        offset = self.const_expr()
        n = r.length()
        start = r.pos
        return DataSegment("active", r.bytes(n), memory, offset, start)


def parse_name_section(payload: bytes) -> Names:
    """The `name` custom section (spec 7.4).  Lenient: a malformed or truncated
    subsection ends parsing, keeping what was read, and never fails the module."""
    names = Names()
    pos = 0
    n_payload = len(payload)
    try:
        while pos < n_payload:
            sub_id = payload[pos]
            size, pos = read_u32(payload, pos + 1)
            end = pos + size
            if end > n_payload:
                break
            sub = payload[:end]  # bound reads to the subsection
            if sub_id == 0:
                names.module, _ = read_name(sub, pos)
            elif sub_id == 1:
                names.functions = _name_map(sub, pos)[0]
            elif sub_id == 2:
                count, p = read_u32(sub, pos)
                result: dict[int, dict[int, str]] = {}
                for _ in range(count):
                    idx, p = read_u32(sub, p)
                    result[idx], p = _name_map(sub, p)
                names.locals = result
            pos = end
    except (CompileError, IndexError):
        pass
    return names


def _name_map(data: bytes, pos: int) -> tuple[dict[int, str], int]:
    count, pos = read_u32(data, pos)
    out: dict[int, str] = {}
    for _ in range(count):
        idx, pos = read_u32(data, pos)
        n, pos = read_u32(data, pos)
        if pos + n > len(data):
            raise IndexError
        out[idx] = decode_name(data[pos : pos + n], pos)
        pos += n
    return out, pos


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection for a while.  Decoding, and translating a codegen
    unit, allocate an object per instruction, all alive until the end and without
    cycles: the collector's repeated scans of the growing heap would only cost time
    (a third of decoding, 40 % of translating)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@contextlib.contextmanager
def bodies_decoded(module: Module, data: bytes | None, indices: Iterable[int]) -> Iterator[None]:
    """The bodies of functions `indices` decoded from the module's bytes `data` for the
    duration, where `module` holds only where each lies (`decode(bodies=...)`,
    `aot.wasm.parse(..., keep_bodies=False)`); put back as they were after."""
    first = module.num_imported_funcs
    missing = [i for i in indices if not module.codes[i - first].code]
    if missing and data is None:
        raise ValueError("the module was decoded without its function bodies: its bytes "
                         "are needed to compile it")
    kept = [module.codes[i - first] for i in missing]
    if missing:
        decode_bodies(module, data, missing)
    try:
        yield
    finally:
        for i, body in zip(missing, kept):
            module.codes[i - first] = body


def decode_bodies(module: Module, data: bytes, indices: Iterable[int]) -> None:
    """Decode the bodies of functions `indices` (function index space) of `module`,
    which `decode(data, bodies=...)` left out."""
    d = _Decoder(bytes(data), multi_memory=module.multi_memory, memory64=module.memory64,
                 threads=module.threads)
    d.m = module
    first = module.num_imported_funcs
    with gc_paused():
        for index in indices:
            d.r.pos = module.codes[index - first].offset
            module.codes[index - first] = d.func_body(index)


# on_body(the module so far, function index, body) -> what the module keeps of the body
BodyHook = Callable[[Module, int, FuncBody], FuncBody]


def decode(data: bytes, bodies: Container[int] | None = None,
           multi_memory: bool = True, memory64: bool = True, threads: bool = True,
           on_body: BodyHook | None = None,
           known: Mapping[bytes, BodyFacts] | None = None) -> Module:
    """Decode a binary module.  Raises CompileError on any malformed input.  With
    `bodies`, only the bodies of those functions are decoded (the others are empty and
    unchecked): for a compile worker, which translates a few units of a module its
    parent has validated.  `on_body` is given each decoded body, in order, with the
    module so far (every section before the code), and returns what the module keeps
    of it: for reading a large module body by body.
    `multi_memory=False`: WebAssembly 2.0's encodings (a zero byte where the proposal
    has a memory index); `memory64=False`: without 64-bit memories; `threads=False`:
    without shared memories and atomic instructions.  `known`: bodies whose bytes
    (`body_key`) are there are neither decoded nor handed to `on_body`; the module keeps
    their facts (`FuncBody.facts`)."""
    data = bytes(data)
    try:
        with gc_paused():
            return _Decoder(data, bodies, multi_memory, memory64, threads, on_body,
                            known).module()
    except IndexError:
        # Every raw `data[pos]` past the end lands here.
        raise CompileError(UNEXPECTED_END, len(data)) from None
