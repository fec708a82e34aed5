"""Every WebAssembly 2.0 opcode (and those of the proposals aot implements): number, text-format name, immediate kind and, for the
operators whose operand types are fixed, their signature.

Numbering follows `aot.wasm.instr`: plain opcodes are one byte, prefixed ones are
`(prefix << 16) | subopcode` (0xFC bulk/saturating ops, 0xFD SIMD, 0xFE atomics).

Signatures are written compactly as `"params:results"` with one letter per value:
`i` i32, `l` i64, `f` f32, `d` f64, `v` v128.  An operator with a signature is "simple"
for the validator: pop params, push results, plus the generic checks its immediate kind
implies (memory exists, alignment, lane index, data segment).  Operators without one
(`sig=None`: control flow, variables, calls, references, tables, drop/select) have
their own validation rule.
"""

from __future__ import annotations

from dataclasses import dataclass

from aot.wasm.types import ValType

FC = 0xFC << 16
FD = 0xFD << 16

_LETTER = {
    "i": ValType.I32,
    "l": ValType.I64,
    "f": ValType.F32,
    "d": ValType.F64,
    "v": ValType.V128,
}


@dataclass(frozen=True)
class OpInfo:
    code: int
    name: str
    imm: str  # immediate kind, as in the table of aot.wasm.instr
    params: tuple[ValType, ...] | None = None  # None: not a simple operator
    results: tuple[ValType, ...] | None = None
    align: int = -1  # natural alignment (log2 bytes) of memory accesses
    lanes: int = 0  # number of lanes, for operators with a lane immediate

    @property
    def simple(self) -> bool:
        return self.params is not None


# (code, name, immediate kind, signature or None[, natural alignment or lane count])
_ROWS: list[tuple] = [
    # --- control (spec 5.4.1) ---
    (0x00, "unreachable", "none", None),
    (0x01, "nop", "none", ":"),
    (0x02, "block", "block", None),
    (0x03, "loop", "block", None),
    (0x04, "if", "block", None),
    (0x05, "else", "none", None),
    (0x0B, "end", "none", None),
    (0x0C, "br", "label", None),
    (0x0D, "br_if", "label", None),
    (0x0E, "br_table", "br_table", None),
    (0x0F, "return", "none", None),
    (0x10, "call", "func", None),
    (0x11, "call_indirect", "call_indirect", None),
    # --- tail calls (a proposal wasmtime runs by default) ---
    (0x12, "return_call", "func", None),
    (0x13, "return_call_indirect", "call_indirect", None),
    # --- reference ---
    (0xD0, "ref.null", "reftype", None),
    (0xD1, "ref.is_null", "none", None),
    (0xD2, "ref.func", "func", None),
    # --- parametric ---
    (0x1A, "drop", "none", None),
    (0x1B, "select", "none", None),
    (0x1C, "select", "select_t", None),  # typed select; OPCODES_BY_NAME keeps 0x1B
    # --- variable ---
    (0x20, "local.get", "local", None),
    (0x21, "local.set", "local", None),
    (0x22, "local.tee", "local", None),
    (0x23, "global.get", "global", None),
    (0x24, "global.set", "global", None),
    # --- table ---
    (0x25, "table.get", "table", None),
    (0x26, "table.set", "table", None),
    (FC | 12, "table.init", "table_init", None),
    (FC | 13, "elem.drop", "elem", None),
    (FC | 14, "table.copy", "table_copy", None),
    (FC | 15, "table.grow", "table", None),
    (FC | 16, "table.size", "table", None),
    (FC | 17, "table.fill", "table", None),
    # --- memory ---
    (0x28, "i32.load", "memarg", "i:i", 2),
    (0x29, "i64.load", "memarg", "i:l", 3),
    (0x2A, "f32.load", "memarg", "i:f", 2),
    (0x2B, "f64.load", "memarg", "i:d", 3),
    (0x2C, "i32.load8_s", "memarg", "i:i", 0),
    (0x2D, "i32.load8_u", "memarg", "i:i", 0),
    (0x2E, "i32.load16_s", "memarg", "i:i", 1),
    (0x2F, "i32.load16_u", "memarg", "i:i", 1),
    (0x30, "i64.load8_s", "memarg", "i:l", 0),
    (0x31, "i64.load8_u", "memarg", "i:l", 0),
    (0x32, "i64.load16_s", "memarg", "i:l", 1),
    (0x33, "i64.load16_u", "memarg", "i:l", 1),
    (0x34, "i64.load32_s", "memarg", "i:l", 2),
    (0x35, "i64.load32_u", "memarg", "i:l", 2),
    (0x36, "i32.store", "memarg", "ii:", 2),
    (0x37, "i64.store", "memarg", "il:", 3),
    (0x38, "f32.store", "memarg", "if:", 2),
    (0x39, "f64.store", "memarg", "id:", 3),
    (0x3A, "i32.store8", "memarg", "ii:", 0),
    (0x3B, "i32.store16", "memarg", "ii:", 1),
    (0x3C, "i64.store8", "memarg", "il:", 0),
    (0x3D, "i64.store16", "memarg", "il:", 1),
    (0x3E, "i64.store32", "memarg", "il:", 2),
    (0x3F, "memory.size", "memory", ":i"),
    (0x40, "memory.grow", "memory", "i:i"),
    (FC | 8, "memory.init", "memory_init", "iii:"),
    (FC | 9, "data.drop", "data", ":"),
    (FC | 10, "memory.copy", "memory_copy", "iii:"),
    (FC | 11, "memory.fill", "memory", "iii:"),
    # --- constants ---
    (0x41, "i32.const", "i32", ":i"),
    (0x42, "i64.const", "i64", ":l"),
    (0x43, "f32.const", "f32", ":f"),
    (0x44, "f64.const", "f64", ":d"),
    # --- i32 comparison ---
    (0x45, "i32.eqz", "none", "i:i"),
    (0x46, "i32.eq", "none", "ii:i"),
    (0x47, "i32.ne", "none", "ii:i"),
    (0x48, "i32.lt_s", "none", "ii:i"),
    (0x49, "i32.lt_u", "none", "ii:i"),
    (0x4A, "i32.gt_s", "none", "ii:i"),
    (0x4B, "i32.gt_u", "none", "ii:i"),
    (0x4C, "i32.le_s", "none", "ii:i"),
    (0x4D, "i32.le_u", "none", "ii:i"),
    (0x4E, "i32.ge_s", "none", "ii:i"),
    (0x4F, "i32.ge_u", "none", "ii:i"),
    # --- i64 comparison ---
    (0x50, "i64.eqz", "none", "l:i"),
    (0x51, "i64.eq", "none", "ll:i"),
    (0x52, "i64.ne", "none", "ll:i"),
    (0x53, "i64.lt_s", "none", "ll:i"),
    (0x54, "i64.lt_u", "none", "ll:i"),
    (0x55, "i64.gt_s", "none", "ll:i"),
    (0x56, "i64.gt_u", "none", "ll:i"),
    (0x57, "i64.le_s", "none", "ll:i"),
    (0x58, "i64.le_u", "none", "ll:i"),
    (0x59, "i64.ge_s", "none", "ll:i"),
    (0x5A, "i64.ge_u", "none", "ll:i"),
    # --- f32 / f64 comparison ---
    (0x5B, "f32.eq", "none", "ff:i"),
    (0x5C, "f32.ne", "none", "ff:i"),
    (0x5D, "f32.lt", "none", "ff:i"),
    (0x5E, "f32.gt", "none", "ff:i"),
    (0x5F, "f32.le", "none", "ff:i"),
    (0x60, "f32.ge", "none", "ff:i"),
    (0x61, "f64.eq", "none", "dd:i"),
    (0x62, "f64.ne", "none", "dd:i"),
    (0x63, "f64.lt", "none", "dd:i"),
    (0x64, "f64.gt", "none", "dd:i"),
    (0x65, "f64.le", "none", "dd:i"),
    (0x66, "f64.ge", "none", "dd:i"),
    # --- i32 arithmetic ---
    (0x67, "i32.clz", "none", "i:i"),
    (0x68, "i32.ctz", "none", "i:i"),
    (0x69, "i32.popcnt", "none", "i:i"),
    (0x6A, "i32.add", "none", "ii:i"),
    (0x6B, "i32.sub", "none", "ii:i"),
    (0x6C, "i32.mul", "none", "ii:i"),
    (0x6D, "i32.div_s", "none", "ii:i"),
    (0x6E, "i32.div_u", "none", "ii:i"),
    (0x6F, "i32.rem_s", "none", "ii:i"),
    (0x70, "i32.rem_u", "none", "ii:i"),
    (0x71, "i32.and", "none", "ii:i"),
    (0x72, "i32.or", "none", "ii:i"),
    (0x73, "i32.xor", "none", "ii:i"),
    (0x74, "i32.shl", "none", "ii:i"),
    (0x75, "i32.shr_s", "none", "ii:i"),
    (0x76, "i32.shr_u", "none", "ii:i"),
    (0x77, "i32.rotl", "none", "ii:i"),
    (0x78, "i32.rotr", "none", "ii:i"),
    # --- i64 arithmetic ---
    (0x79, "i64.clz", "none", "l:l"),
    (0x7A, "i64.ctz", "none", "l:l"),
    (0x7B, "i64.popcnt", "none", "l:l"),
    (0x7C, "i64.add", "none", "ll:l"),
    (0x7D, "i64.sub", "none", "ll:l"),
    (0x7E, "i64.mul", "none", "ll:l"),
    (0x7F, "i64.div_s", "none", "ll:l"),
    (0x80, "i64.div_u", "none", "ll:l"),
    (0x81, "i64.rem_s", "none", "ll:l"),
    (0x82, "i64.rem_u", "none", "ll:l"),
    (0x83, "i64.and", "none", "ll:l"),
    (0x84, "i64.or", "none", "ll:l"),
    (0x85, "i64.xor", "none", "ll:l"),
    (0x86, "i64.shl", "none", "ll:l"),
    (0x87, "i64.shr_s", "none", "ll:l"),
    (0x88, "i64.shr_u", "none", "ll:l"),
    (0x89, "i64.rotl", "none", "ll:l"),
    (0x8A, "i64.rotr", "none", "ll:l"),
    # --- f32 arithmetic ---
    (0x8B, "f32.abs", "none", "f:f"),
    (0x8C, "f32.neg", "none", "f:f"),
    (0x8D, "f32.ceil", "none", "f:f"),
    (0x8E, "f32.floor", "none", "f:f"),
    (0x8F, "f32.trunc", "none", "f:f"),
    (0x90, "f32.nearest", "none", "f:f"),
    (0x91, "f32.sqrt", "none", "f:f"),
    (0x92, "f32.add", "none", "ff:f"),
    (0x93, "f32.sub", "none", "ff:f"),
    (0x94, "f32.mul", "none", "ff:f"),
    (0x95, "f32.div", "none", "ff:f"),
    (0x96, "f32.min", "none", "ff:f"),
    (0x97, "f32.max", "none", "ff:f"),
    (0x98, "f32.copysign", "none", "ff:f"),
    # --- f64 arithmetic ---
    (0x99, "f64.abs", "none", "d:d"),
    (0x9A, "f64.neg", "none", "d:d"),
    (0x9B, "f64.ceil", "none", "d:d"),
    (0x9C, "f64.floor", "none", "d:d"),
    (0x9D, "f64.trunc", "none", "d:d"),
    (0x9E, "f64.nearest", "none", "d:d"),
    (0x9F, "f64.sqrt", "none", "d:d"),
    (0xA0, "f64.add", "none", "dd:d"),
    (0xA1, "f64.sub", "none", "dd:d"),
    (0xA2, "f64.mul", "none", "dd:d"),
    (0xA3, "f64.div", "none", "dd:d"),
    (0xA4, "f64.min", "none", "dd:d"),
    (0xA5, "f64.max", "none", "dd:d"),
    (0xA6, "f64.copysign", "none", "dd:d"),
    # --- conversions ---
    (0xA7, "i32.wrap_i64", "none", "l:i"),
    (0xA8, "i32.trunc_f32_s", "none", "f:i"),
    (0xA9, "i32.trunc_f32_u", "none", "f:i"),
    (0xAA, "i32.trunc_f64_s", "none", "d:i"),
    (0xAB, "i32.trunc_f64_u", "none", "d:i"),
    (0xAC, "i64.extend_i32_s", "none", "i:l"),
    (0xAD, "i64.extend_i32_u", "none", "i:l"),
    (0xAE, "i64.trunc_f32_s", "none", "f:l"),
    (0xAF, "i64.trunc_f32_u", "none", "f:l"),
    (0xB0, "i64.trunc_f64_s", "none", "d:l"),
    (0xB1, "i64.trunc_f64_u", "none", "d:l"),
    (0xB2, "f32.convert_i32_s", "none", "i:f"),
    (0xB3, "f32.convert_i32_u", "none", "i:f"),
    (0xB4, "f32.convert_i64_s", "none", "l:f"),
    (0xB5, "f32.convert_i64_u", "none", "l:f"),
    (0xB6, "f32.demote_f64", "none", "d:f"),
    (0xB7, "f64.convert_i32_s", "none", "i:d"),
    (0xB8, "f64.convert_i32_u", "none", "i:d"),
    (0xB9, "f64.convert_i64_s", "none", "l:d"),
    (0xBA, "f64.convert_i64_u", "none", "l:d"),
    (0xBB, "f64.promote_f32", "none", "f:d"),
    (0xBC, "i32.reinterpret_f32", "none", "f:i"),
    (0xBD, "i64.reinterpret_f64", "none", "d:l"),
    (0xBE, "f32.reinterpret_i32", "none", "i:f"),
    (0xBF, "f64.reinterpret_i64", "none", "l:d"),
    # --- sign extension ---
    (0xC0, "i32.extend8_s", "none", "i:i"),
    (0xC1, "i32.extend16_s", "none", "i:i"),
    (0xC2, "i64.extend8_s", "none", "l:l"),
    (0xC3, "i64.extend16_s", "none", "l:l"),
    (0xC4, "i64.extend32_s", "none", "l:l"),
    # --- saturating truncation (0xFC 0..7) ---
    (FC | 0, "i32.trunc_sat_f32_s", "none", "f:i"),
    (FC | 1, "i32.trunc_sat_f32_u", "none", "f:i"),
    (FC | 2, "i32.trunc_sat_f64_s", "none", "d:i"),
    (FC | 3, "i32.trunc_sat_f64_u", "none", "d:i"),
    (FC | 4, "i64.trunc_sat_f32_s", "none", "f:l"),
    (FC | 5, "i64.trunc_sat_f32_u", "none", "f:l"),
    (FC | 6, "i64.trunc_sat_f64_s", "none", "d:l"),
    (FC | 7, "i64.trunc_sat_f64_u", "none", "d:l"),
    # --- SIMD memory ---
    (FD | 0x00, "v128.load", "memarg", "i:v", 4),
    (FD | 0x01, "v128.load8x8_s", "memarg", "i:v", 3),
    (FD | 0x02, "v128.load8x8_u", "memarg", "i:v", 3),
    (FD | 0x03, "v128.load16x4_s", "memarg", "i:v", 3),
    (FD | 0x04, "v128.load16x4_u", "memarg", "i:v", 3),
    (FD | 0x05, "v128.load32x2_s", "memarg", "i:v", 3),
    (FD | 0x06, "v128.load32x2_u", "memarg", "i:v", 3),
    (FD | 0x07, "v128.load8_splat", "memarg", "i:v", 0),
    (FD | 0x08, "v128.load16_splat", "memarg", "i:v", 1),
    (FD | 0x09, "v128.load32_splat", "memarg", "i:v", 2),
    (FD | 0x0A, "v128.load64_splat", "memarg", "i:v", 3),
    (FD | 0x0B, "v128.store", "memarg", "iv:", 4),
    (FD | 0x5C, "v128.load32_zero", "memarg", "i:v", 2),
    (FD | 0x5D, "v128.load64_zero", "memarg", "i:v", 3),
    # memarg_lane: alignment is the lane width, lanes = 16 >> align
    (FD | 0x54, "v128.load8_lane", "memarg_lane", "iv:v", 0),
    (FD | 0x55, "v128.load16_lane", "memarg_lane", "iv:v", 1),
    (FD | 0x56, "v128.load32_lane", "memarg_lane", "iv:v", 2),
    (FD | 0x57, "v128.load64_lane", "memarg_lane", "iv:v", 3),
    (FD | 0x58, "v128.store8_lane", "memarg_lane", "iv:", 0),
    (FD | 0x59, "v128.store16_lane", "memarg_lane", "iv:", 1),
    (FD | 0x5A, "v128.store32_lane", "memarg_lane", "iv:", 2),
    (FD | 0x5B, "v128.store64_lane", "memarg_lane", "iv:", 3),
    # --- SIMD constants, shuffles, splats, lanes ---
    (FD | 0x0C, "v128.const", "v128", ":v"),
    (FD | 0x0D, "i8x16.shuffle", "shuffle", "vv:v"),
    (FD | 0x0E, "i8x16.swizzle", "none", "vv:v"),
    (FD | 0x0F, "i8x16.splat", "none", "i:v"),
    (FD | 0x10, "i16x8.splat", "none", "i:v"),
    (FD | 0x11, "i32x4.splat", "none", "i:v"),
    (FD | 0x12, "i64x2.splat", "none", "l:v"),
    (FD | 0x13, "f32x4.splat", "none", "f:v"),
    (FD | 0x14, "f64x2.splat", "none", "d:v"),
    (FD | 0x15, "i8x16.extract_lane_s", "lane", "v:i", 16),
    (FD | 0x16, "i8x16.extract_lane_u", "lane", "v:i", 16),
    (FD | 0x17, "i8x16.replace_lane", "lane", "vi:v", 16),
    (FD | 0x18, "i16x8.extract_lane_s", "lane", "v:i", 8),
    (FD | 0x19, "i16x8.extract_lane_u", "lane", "v:i", 8),
    (FD | 0x1A, "i16x8.replace_lane", "lane", "vi:v", 8),
    (FD | 0x1B, "i32x4.extract_lane", "lane", "v:i", 4),
    (FD | 0x1C, "i32x4.replace_lane", "lane", "vi:v", 4),
    (FD | 0x1D, "i64x2.extract_lane", "lane", "v:l", 2),
    (FD | 0x1E, "i64x2.replace_lane", "lane", "vl:v", 2),
    (FD | 0x1F, "f32x4.extract_lane", "lane", "v:f", 4),
    (FD | 0x20, "f32x4.replace_lane", "lane", "vf:v", 4),
    (FD | 0x21, "f64x2.extract_lane", "lane", "v:d", 2),
    (FD | 0x22, "f64x2.replace_lane", "lane", "vd:v", 2),
    # --- SIMD comparisons ---
    (FD | 0x23, "i8x16.eq", "none", "vv:v"),
    (FD | 0x24, "i8x16.ne", "none", "vv:v"),
    (FD | 0x25, "i8x16.lt_s", "none", "vv:v"),
    (FD | 0x26, "i8x16.lt_u", "none", "vv:v"),
    (FD | 0x27, "i8x16.gt_s", "none", "vv:v"),
    (FD | 0x28, "i8x16.gt_u", "none", "vv:v"),
    (FD | 0x29, "i8x16.le_s", "none", "vv:v"),
    (FD | 0x2A, "i8x16.le_u", "none", "vv:v"),
    (FD | 0x2B, "i8x16.ge_s", "none", "vv:v"),
    (FD | 0x2C, "i8x16.ge_u", "none", "vv:v"),
    (FD | 0x2D, "i16x8.eq", "none", "vv:v"),
    (FD | 0x2E, "i16x8.ne", "none", "vv:v"),
    (FD | 0x2F, "i16x8.lt_s", "none", "vv:v"),
    (FD | 0x30, "i16x8.lt_u", "none", "vv:v"),
    (FD | 0x31, "i16x8.gt_s", "none", "vv:v"),
    (FD | 0x32, "i16x8.gt_u", "none", "vv:v"),
    (FD | 0x33, "i16x8.le_s", "none", "vv:v"),
    (FD | 0x34, "i16x8.le_u", "none", "vv:v"),
    (FD | 0x35, "i16x8.ge_s", "none", "vv:v"),
    (FD | 0x36, "i16x8.ge_u", "none", "vv:v"),
    (FD | 0x37, "i32x4.eq", "none", "vv:v"),
    (FD | 0x38, "i32x4.ne", "none", "vv:v"),
    (FD | 0x39, "i32x4.lt_s", "none", "vv:v"),
    (FD | 0x3A, "i32x4.lt_u", "none", "vv:v"),
    (FD | 0x3B, "i32x4.gt_s", "none", "vv:v"),
    (FD | 0x3C, "i32x4.gt_u", "none", "vv:v"),
    (FD | 0x3D, "i32x4.le_s", "none", "vv:v"),
    (FD | 0x3E, "i32x4.le_u", "none", "vv:v"),
    (FD | 0x3F, "i32x4.ge_s", "none", "vv:v"),
    (FD | 0x40, "i32x4.ge_u", "none", "vv:v"),
    (FD | 0x41, "f32x4.eq", "none", "vv:v"),
    (FD | 0x42, "f32x4.ne", "none", "vv:v"),
    (FD | 0x43, "f32x4.lt", "none", "vv:v"),
    (FD | 0x44, "f32x4.gt", "none", "vv:v"),
    (FD | 0x45, "f32x4.le", "none", "vv:v"),
    (FD | 0x46, "f32x4.ge", "none", "vv:v"),
    (FD | 0x47, "f64x2.eq", "none", "vv:v"),
    (FD | 0x48, "f64x2.ne", "none", "vv:v"),
    (FD | 0x49, "f64x2.lt", "none", "vv:v"),
    (FD | 0x4A, "f64x2.gt", "none", "vv:v"),
    (FD | 0x4B, "f64x2.le", "none", "vv:v"),
    (FD | 0x4C, "f64x2.ge", "none", "vv:v"),
    (FD | 0xD6, "i64x2.eq", "none", "vv:v"),
    (FD | 0xD7, "i64x2.ne", "none", "vv:v"),
    (FD | 0xD8, "i64x2.lt_s", "none", "vv:v"),
    (FD | 0xD9, "i64x2.gt_s", "none", "vv:v"),
    (FD | 0xDA, "i64x2.le_s", "none", "vv:v"),
    (FD | 0xDB, "i64x2.ge_s", "none", "vv:v"),
    # --- SIMD bitwise ---
    (FD | 0x4D, "v128.not", "none", "v:v"),
    (FD | 0x4E, "v128.and", "none", "vv:v"),
    (FD | 0x4F, "v128.andnot", "none", "vv:v"),
    (FD | 0x50, "v128.or", "none", "vv:v"),
    (FD | 0x51, "v128.xor", "none", "vv:v"),
    (FD | 0x52, "v128.bitselect", "none", "vvv:v"),
    (FD | 0x53, "v128.any_true", "none", "v:i"),
    # --- SIMD conversions between float shapes ---
    (FD | 0x5E, "f32x4.demote_f64x2_zero", "none", "v:v"),
    (FD | 0x5F, "f64x2.promote_low_f32x4", "none", "v:v"),
    # --- i8x16 ---
    (FD | 0x60, "i8x16.abs", "none", "v:v"),
    (FD | 0x61, "i8x16.neg", "none", "v:v"),
    (FD | 0x62, "i8x16.popcnt", "none", "v:v"),
    (FD | 0x63, "i8x16.all_true", "none", "v:i"),
    (FD | 0x64, "i8x16.bitmask", "none", "v:i"),
    (FD | 0x65, "i8x16.narrow_i16x8_s", "none", "vv:v"),
    (FD | 0x66, "i8x16.narrow_i16x8_u", "none", "vv:v"),
    (FD | 0x6B, "i8x16.shl", "none", "vi:v"),
    (FD | 0x6C, "i8x16.shr_s", "none", "vi:v"),
    (FD | 0x6D, "i8x16.shr_u", "none", "vi:v"),
    (FD | 0x6E, "i8x16.add", "none", "vv:v"),
    (FD | 0x6F, "i8x16.add_sat_s", "none", "vv:v"),
    (FD | 0x70, "i8x16.add_sat_u", "none", "vv:v"),
    (FD | 0x71, "i8x16.sub", "none", "vv:v"),
    (FD | 0x72, "i8x16.sub_sat_s", "none", "vv:v"),
    (FD | 0x73, "i8x16.sub_sat_u", "none", "vv:v"),
    (FD | 0x76, "i8x16.min_s", "none", "vv:v"),
    (FD | 0x77, "i8x16.min_u", "none", "vv:v"),
    (FD | 0x78, "i8x16.max_s", "none", "vv:v"),
    (FD | 0x79, "i8x16.max_u", "none", "vv:v"),
    (FD | 0x7B, "i8x16.avgr_u", "none", "vv:v"),
    # --- f32x4 / f64x2 rounding (interleaved in the encoding) ---
    (FD | 0x67, "f32x4.ceil", "none", "v:v"),
    (FD | 0x68, "f32x4.floor", "none", "v:v"),
    (FD | 0x69, "f32x4.trunc", "none", "v:v"),
    (FD | 0x6A, "f32x4.nearest", "none", "v:v"),
    (FD | 0x74, "f64x2.ceil", "none", "v:v"),
    (FD | 0x75, "f64x2.floor", "none", "v:v"),
    (FD | 0x7A, "f64x2.trunc", "none", "v:v"),
    (FD | 0x94, "f64x2.nearest", "none", "v:v"),
    # --- i16x8 ---
    (FD | 0x7C, "i16x8.extadd_pairwise_i8x16_s", "none", "v:v"),
    (FD | 0x7D, "i16x8.extadd_pairwise_i8x16_u", "none", "v:v"),
    (FD | 0x80, "i16x8.abs", "none", "v:v"),
    (FD | 0x81, "i16x8.neg", "none", "v:v"),
    (FD | 0x82, "i16x8.q15mulr_sat_s", "none", "vv:v"),
    (FD | 0x83, "i16x8.all_true", "none", "v:i"),
    (FD | 0x84, "i16x8.bitmask", "none", "v:i"),
    (FD | 0x85, "i16x8.narrow_i32x4_s", "none", "vv:v"),
    (FD | 0x86, "i16x8.narrow_i32x4_u", "none", "vv:v"),
    (FD | 0x87, "i16x8.extend_low_i8x16_s", "none", "v:v"),
    (FD | 0x88, "i16x8.extend_high_i8x16_s", "none", "v:v"),
    (FD | 0x89, "i16x8.extend_low_i8x16_u", "none", "v:v"),
    (FD | 0x8A, "i16x8.extend_high_i8x16_u", "none", "v:v"),
    (FD | 0x8B, "i16x8.shl", "none", "vi:v"),
    (FD | 0x8C, "i16x8.shr_s", "none", "vi:v"),
    (FD | 0x8D, "i16x8.shr_u", "none", "vi:v"),
    (FD | 0x8E, "i16x8.add", "none", "vv:v"),
    (FD | 0x8F, "i16x8.add_sat_s", "none", "vv:v"),
    (FD | 0x90, "i16x8.add_sat_u", "none", "vv:v"),
    (FD | 0x91, "i16x8.sub", "none", "vv:v"),
    (FD | 0x92, "i16x8.sub_sat_s", "none", "vv:v"),
    (FD | 0x93, "i16x8.sub_sat_u", "none", "vv:v"),
    (FD | 0x95, "i16x8.mul", "none", "vv:v"),
    (FD | 0x96, "i16x8.min_s", "none", "vv:v"),
    (FD | 0x97, "i16x8.min_u", "none", "vv:v"),
    (FD | 0x98, "i16x8.max_s", "none", "vv:v"),
    (FD | 0x99, "i16x8.max_u", "none", "vv:v"),
    (FD | 0x9B, "i16x8.avgr_u", "none", "vv:v"),
    (FD | 0x9C, "i16x8.extmul_low_i8x16_s", "none", "vv:v"),
    (FD | 0x9D, "i16x8.extmul_high_i8x16_s", "none", "vv:v"),
    (FD | 0x9E, "i16x8.extmul_low_i8x16_u", "none", "vv:v"),
    (FD | 0x9F, "i16x8.extmul_high_i8x16_u", "none", "vv:v"),
    # --- i32x4 ---
    (FD | 0x7E, "i32x4.extadd_pairwise_i16x8_s", "none", "v:v"),
    (FD | 0x7F, "i32x4.extadd_pairwise_i16x8_u", "none", "v:v"),
    (FD | 0xA0, "i32x4.abs", "none", "v:v"),
    (FD | 0xA1, "i32x4.neg", "none", "v:v"),
    (FD | 0xA3, "i32x4.all_true", "none", "v:i"),
    (FD | 0xA4, "i32x4.bitmask", "none", "v:i"),
    (FD | 0xA7, "i32x4.extend_low_i16x8_s", "none", "v:v"),
    (FD | 0xA8, "i32x4.extend_high_i16x8_s", "none", "v:v"),
    (FD | 0xA9, "i32x4.extend_low_i16x8_u", "none", "v:v"),
    (FD | 0xAA, "i32x4.extend_high_i16x8_u", "none", "v:v"),
    (FD | 0xAB, "i32x4.shl", "none", "vi:v"),
    (FD | 0xAC, "i32x4.shr_s", "none", "vi:v"),
    (FD | 0xAD, "i32x4.shr_u", "none", "vi:v"),
    (FD | 0xAE, "i32x4.add", "none", "vv:v"),
    (FD | 0xB1, "i32x4.sub", "none", "vv:v"),
    (FD | 0xB5, "i32x4.mul", "none", "vv:v"),
    (FD | 0xB6, "i32x4.min_s", "none", "vv:v"),
    (FD | 0xB7, "i32x4.min_u", "none", "vv:v"),
    (FD | 0xB8, "i32x4.max_s", "none", "vv:v"),
    (FD | 0xB9, "i32x4.max_u", "none", "vv:v"),
    (FD | 0xBA, "i32x4.dot_i16x8_s", "none", "vv:v"),
    (FD | 0xBC, "i32x4.extmul_low_i16x8_s", "none", "vv:v"),
    (FD | 0xBD, "i32x4.extmul_high_i16x8_s", "none", "vv:v"),
    (FD | 0xBE, "i32x4.extmul_low_i16x8_u", "none", "vv:v"),
    (FD | 0xBF, "i32x4.extmul_high_i16x8_u", "none", "vv:v"),
    # --- i64x2 ---
    (FD | 0xC0, "i64x2.abs", "none", "v:v"),
    (FD | 0xC1, "i64x2.neg", "none", "v:v"),
    (FD | 0xC3, "i64x2.all_true", "none", "v:i"),
    (FD | 0xC4, "i64x2.bitmask", "none", "v:i"),
    (FD | 0xC7, "i64x2.extend_low_i32x4_s", "none", "v:v"),
    (FD | 0xC8, "i64x2.extend_high_i32x4_s", "none", "v:v"),
    (FD | 0xC9, "i64x2.extend_low_i32x4_u", "none", "v:v"),
    (FD | 0xCA, "i64x2.extend_high_i32x4_u", "none", "v:v"),
    (FD | 0xCB, "i64x2.shl", "none", "vi:v"),
    (FD | 0xCC, "i64x2.shr_s", "none", "vi:v"),
    (FD | 0xCD, "i64x2.shr_u", "none", "vi:v"),
    (FD | 0xCE, "i64x2.add", "none", "vv:v"),
    (FD | 0xD1, "i64x2.sub", "none", "vv:v"),
    (FD | 0xD5, "i64x2.mul", "none", "vv:v"),
    (FD | 0xDC, "i64x2.extmul_low_i32x4_s", "none", "vv:v"),
    (FD | 0xDD, "i64x2.extmul_high_i32x4_s", "none", "vv:v"),
    (FD | 0xDE, "i64x2.extmul_low_i32x4_u", "none", "vv:v"),
    (FD | 0xDF, "i64x2.extmul_high_i32x4_u", "none", "vv:v"),
    # --- f32x4 ---
    (FD | 0xE0, "f32x4.abs", "none", "v:v"),
    (FD | 0xE1, "f32x4.neg", "none", "v:v"),
    (FD | 0xE3, "f32x4.sqrt", "none", "v:v"),
    (FD | 0xE4, "f32x4.add", "none", "vv:v"),
    (FD | 0xE5, "f32x4.sub", "none", "vv:v"),
    (FD | 0xE6, "f32x4.mul", "none", "vv:v"),
    (FD | 0xE7, "f32x4.div", "none", "vv:v"),
    (FD | 0xE8, "f32x4.min", "none", "vv:v"),
    (FD | 0xE9, "f32x4.max", "none", "vv:v"),
    (FD | 0xEA, "f32x4.pmin", "none", "vv:v"),
    (FD | 0xEB, "f32x4.pmax", "none", "vv:v"),
    # --- f64x2 ---
    (FD | 0xEC, "f64x2.abs", "none", "v:v"),
    (FD | 0xED, "f64x2.neg", "none", "v:v"),
    (FD | 0xEF, "f64x2.sqrt", "none", "v:v"),
    (FD | 0xF0, "f64x2.add", "none", "vv:v"),
    (FD | 0xF1, "f64x2.sub", "none", "vv:v"),
    (FD | 0xF2, "f64x2.mul", "none", "vv:v"),
    (FD | 0xF3, "f64x2.div", "none", "vv:v"),
    (FD | 0xF4, "f64x2.min", "none", "vv:v"),
    (FD | 0xF5, "f64x2.max", "none", "vv:v"),
    (FD | 0xF6, "f64x2.pmin", "none", "vv:v"),
    (FD | 0xF7, "f64x2.pmax", "none", "vv:v"),
    # --- SIMD int <-> float conversions ---
    (FD | 0xF8, "i32x4.trunc_sat_f32x4_s", "none", "v:v"),
    (FD | 0xF9, "i32x4.trunc_sat_f32x4_u", "none", "v:v"),
    (FD | 0xFA, "f32x4.convert_i32x4_s", "none", "v:v"),
    (FD | 0xFB, "f32x4.convert_i32x4_u", "none", "v:v"),
    (FD | 0xFC, "i32x4.trunc_sat_f64x2_s_zero", "none", "v:v"),
    (FD | 0xFD, "i32x4.trunc_sat_f64x2_u_zero", "none", "v:v"),
    (FD | 0xFE, "f64x2.convert_low_i32x4_s", "none", "v:v"),
    (FD | 0xFF, "f64x2.convert_low_i32x4_u", "none", "v:v"),
    # --- relaxed SIMD (a proposal wasmtime runs by default) ---
    (FD | 0x100, "i8x16.relaxed_swizzle", "none", "vv:v"),
    (FD | 0x101, "i32x4.relaxed_trunc_f32x4_s", "none", "v:v"),
    (FD | 0x102, "i32x4.relaxed_trunc_f32x4_u", "none", "v:v"),
    (FD | 0x103, "i32x4.relaxed_trunc_f64x2_s_zero", "none", "v:v"),
    (FD | 0x104, "i32x4.relaxed_trunc_f64x2_u_zero", "none", "v:v"),
    (FD | 0x105, "f32x4.relaxed_madd", "none", "vvv:v"),
    (FD | 0x106, "f32x4.relaxed_nmadd", "none", "vvv:v"),
    (FD | 0x107, "f64x2.relaxed_madd", "none", "vvv:v"),
    (FD | 0x108, "f64x2.relaxed_nmadd", "none", "vvv:v"),
    (FD | 0x109, "i8x16.relaxed_laneselect", "none", "vvv:v"),
    (FD | 0x10A, "i16x8.relaxed_laneselect", "none", "vvv:v"),
    (FD | 0x10B, "i32x4.relaxed_laneselect", "none", "vvv:v"),
    (FD | 0x10C, "i64x2.relaxed_laneselect", "none", "vvv:v"),
    (FD | 0x10D, "f32x4.relaxed_min", "none", "vv:v"),
    (FD | 0x10E, "f32x4.relaxed_max", "none", "vv:v"),
    (FD | 0x10F, "f64x2.relaxed_min", "none", "vv:v"),
    (FD | 0x110, "f64x2.relaxed_max", "none", "vv:v"),
    (FD | 0x111, "i16x8.relaxed_q15mulr_s", "none", "vv:v"),
    (FD | 0x112, "i16x8.relaxed_dot_i8x16_i7x16_s", "none", "vv:v"),
    (FD | 0x113, "i32x4.relaxed_dot_i8x16_i7x16_add_s", "none", "vvv:v"),
]


FE = 0xFE << 16

_ATOMIC_RMW = ("add", "sub", "and", "or", "xor", "xchg", "cmpxchg")
# (name prefix, suffix, natural alignment, operand letter) of each rmw access width
_ATOMIC_WIDTHS = (("i32.atomic.rmw", "", 2, "i"), ("i64.atomic.rmw", "", 3, "l"),
                  ("i32.atomic.rmw8", "_u", 0, "i"), ("i32.atomic.rmw16", "_u", 1, "i"),
                  ("i64.atomic.rmw8", "_u", 0, "l"), ("i64.atomic.rmw16", "_u", 1, "l"),
                  ("i64.atomic.rmw32", "_u", 2, "l"))

_THREADS_ROWS: list[tuple] = [
    (FE | 0x00, "memory.atomic.notify", "memarg", "ii:i", 2),
    (FE | 0x01, "memory.atomic.wait32", "memarg", "iil:i", 2),
    (FE | 0x02, "memory.atomic.wait64", "memarg", "ill:i", 3),
    (FE | 0x03, "atomic.fence", "fence", ":"),
    (FE | 0x10, "i32.atomic.load", "memarg", "i:i", 2),
    (FE | 0x11, "i64.atomic.load", "memarg", "i:l", 3),
    (FE | 0x12, "i32.atomic.load8_u", "memarg", "i:i", 0),
    (FE | 0x13, "i32.atomic.load16_u", "memarg", "i:i", 1),
    (FE | 0x14, "i64.atomic.load8_u", "memarg", "i:l", 0),
    (FE | 0x15, "i64.atomic.load16_u", "memarg", "i:l", 1),
    (FE | 0x16, "i64.atomic.load32_u", "memarg", "i:l", 2),
    (FE | 0x17, "i32.atomic.store", "memarg", "ii:", 2),
    (FE | 0x18, "i64.atomic.store", "memarg", "il:", 3),
    (FE | 0x19, "i32.atomic.store8", "memarg", "ii:", 0),
    (FE | 0x1A, "i32.atomic.store16", "memarg", "ii:", 1),
    (FE | 0x1B, "i64.atomic.store8", "memarg", "il:", 0),
    (FE | 0x1C, "i64.atomic.store16", "memarg", "il:", 1),
    (FE | 0x1D, "i64.atomic.store32", "memarg", "il:", 2),
] + [
    (FE | (0x1E + 7 * i + j), f"{prefix}.{op}{suffix}", "memarg",
     f"i{t}{t if op == 'cmpxchg' else ''}:{t}", align)
    for i, op in enumerate(_ATOMIC_RMW)
    for j, (prefix, suffix, align, t) in enumerate(_ATOMIC_WIDTHS)
]
_ROWS += _THREADS_ROWS


def _make(row: tuple) -> OpInfo:
    code, name, imm, sig = row[:4]
    extra = row[4] if len(row) > 4 else -1
    params = results = None
    if sig is not None:
        p, r = sig.split(":")
        params = tuple(_LETTER[c] for c in p)
        results = tuple(_LETTER[c] for c in r)
    align, lanes = -1, 0
    if imm == "memarg":
        align = extra
    elif imm == "lane":
        lanes = extra
    elif imm == "memarg_lane":
        align, lanes = extra, 16 >> extra
    return OpInfo(code, name, imm, params, results, align, lanes)


OPCODES: dict[int, OpInfo] = {}
for _row in _ROWS:
    _info = _make(_row)
    assert _info.code not in OPCODES, f"duplicate opcode {_info.code:#x}"
    OPCODES[_info.code] = _info
del _row, _info

# Name -> info; `select` names the untyped form (0x1B), the text format's default.
OPCODES_BY_NAME: dict[str, OpInfo] = {}
for _info in sorted(OPCODES.values(), key=lambda i: -i.code):
    OPCODES_BY_NAME[_info.name] = _info
del _info

# Frequently compared opcodes, named for readability in the decoder and validator.
UNREACHABLE, NOP, BLOCK, LOOP, IF, ELSE, END = 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x0B
BR, BR_IF, BR_TABLE, RETURN, CALL, CALL_INDIRECT = 0x0C, 0x0D, 0x0E, 0x0F, 0x10, 0x11
RETURN_CALL, RETURN_CALL_INDIRECT = 0x12, 0x13
DROP, SELECT, SELECT_T = 0x1A, 0x1B, 0x1C
LOCAL_GET, LOCAL_SET, LOCAL_TEE, GLOBAL_GET, GLOBAL_SET = 0x20, 0x21, 0x22, 0x23, 0x24
I32_CONST, I64_CONST, F32_CONST, F64_CONST = 0x41, 0x42, 0x43, 0x44
REF_NULL, REF_IS_NULL, REF_FUNC = 0xD0, 0xD1, 0xD2
V128_CONST = FD | 0x0C
MEMORY_INIT, DATA_DROP = FC | 8, FC | 9


def opcode_name(op: int) -> str:
    info = OPCODES.get(op)
    if info is not None:
        return info.name
    if op > 0xFFFF:
        return f"<unknown 0x{op >> 16:02x} {op & 0xFFFF}>"
    return f"<unknown 0x{op:02x}>"
