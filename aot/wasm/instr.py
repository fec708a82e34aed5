"""The decoded form of one instruction, shared by the validator and the code generator.

`Instr.op` is the opcode number: a single byte for plain opcodes, and
`(prefix << 16) | subopcode` for the prefixed ones (0xFC, 0xFD), so that
`i32.trunc_sat_f32_s` is 0xFC0000 and `v128.load` is 0xFD0000.  `aot.wasm.opcodes`
maps numbers to names; the code generator's lowering tables are keyed by name.

`Instr.imm` holds the decoded immediates, by immediate kind:

=================  ============================================================
kind               imm
=================  ============================================================
none               None
block              FuncType of the block (empty, one result, or a type index
                   already resolved against the type section)
label              int, relative label depth (br, br_if)
br_table           (tuple[int, ...] targets, int default)
func               int function index (call, ref.func)
call_indirect      (int type index, int table index)
local / global     int index
table              int table index (table.get/set/size/grow/fill)
memarg             (int align_log2, int offset, int memory index)
memory             int memory index (memory.size, memory.grow, memory.fill)
i32 / i64          int, the signed value (i32.const -1 -> -1)
f32 / f64          int, the raw IEEE bit pattern (so NaN payloads survive)
select_t           tuple[ValType, ...] (typed select)
reftype            ValType (ref.null)
v128               bytes, 16 bytes little-endian (v128.const)
shuffle            bytes, 16 lane indices (i8x16.shuffle)
lane               int lane index (extract/replace lane)
memarg_lane        (int align_log2, int offset, int memory index, int lane)
table_copy         (int dst table, int src table)
table_init         (int elem segment, int table)
elem               int elem segment index (elem.drop)
memory_init        (int data segment, int memory)
data               int data segment index (data.drop)
memory_copy        (int dst memory, int src memory)
=================  ============================================================

`Instr.offset` is the byte offset of the opcode in the module, used in error messages
and, later, for the pc -> wasm offset map of backtraces.
"""

from __future__ import annotations

from typing import Any


class Instr:
    __slots__ = ("op", "imm", "offset")

    def __init__(self, op: int, imm: Any, offset: int) -> None:
        self.op = op
        self.imm = imm
        self.offset = offset

    def __repr__(self) -> str:
        from aot.wasm.opcodes import opcode_name

        imm = "" if self.imm is None else f" {self.imm!r}"
        return f"<{opcode_name(self.op)}{imm} @0x{self.offset:x}>"
