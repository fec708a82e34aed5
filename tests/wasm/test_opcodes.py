"""The opcode table against an independent encoder (wasmtime's wat2wasm)."""

from __future__ import annotations

import wasmtime

from aot.wasm.opcodes import FC, FD, OPCODES, OPCODES_BY_NAME, opcode_name

# A text immediate for each immediate kind, valid in the module below.
_IMM_TEXT = {
    "none": "",
    "block": "",
    "label": "0",
    "br_table": "0",
    "func": "0",
    "call_indirect": "(type 0)",
    "local": "0",
    "global": "0",
    "table": "0",
    "memarg": "",
    "memory": "",
    "i32": "0",
    "i64": "0",
    "f32": "0",
    "f64": "0",
    "select_t": "(result i32)",
    "reftype": "func",
    "v128": "i32x4 0 0 0 0",
    "shuffle": " ".join(["0"] * 16),
    "lane": "0",
    "memarg_lane": "0",
    "table_copy": "0 0",
    "table_init": "0 0",
    "elem": "0",
    "memory_init": "0",
    "data": "0",
    "memory_copy": "",
    "fence": "",
}


def _encode_op(code: int) -> bytes:
    if code <= 0xFF:
        return bytes([code])
    out, n = bytearray([code >> 16]), code & 0xFFFF
    while True:
        b, n = n & 0x7F, n >> 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def test_every_opcode_encodes_as_its_name() -> None:
    wrong = []
    for code, info in OPCODES.items():
        if info.name in ("else", "end"):
            continue
        text = f"{info.name} {_IMM_TEXT[info.imm]}" + (" end" if info.imm == "block" else "")
        data = wasmtime.wat2wasm(
            "(module (type (func)) (memory 1) (table 1 funcref) (global i32 (i32.const 0))"
            f' (elem func 0) (data "") (func (local i32) {text}))'
        )
        start = data.rindex(b"\x01\x01\x7f") + 3  # after the locals vector
        if not data[start:].startswith(_encode_op(code)):
            wrong.append(info.name)
    assert wrong == []


def test_table_shape() -> None:
    assert len(OPCODES) == 437 + 2 + 20 + 67  # 2.0's, tail calls' 2, relaxed SIMD's 20, threads' 67
    assert OPCODES_BY_NAME["return_call_indirect"].code == 0x13
    assert sum(1 for c in OPCODES if c & 0xFF0000 == FD) == 236 + 20  # 2.0's SIMD, relaxed
    assert sum(1 for c in OPCODES if c & 0xFF0000 == FC) == 18
    assert OPCODES_BY_NAME["select"].code == 0x1B
    assert OPCODES_BY_NAME["i32.add"].params is not None
    assert OPCODES_BY_NAME["v128.load64_lane"].lanes == 2
    assert OPCODES_BY_NAME["i64.load16_s"].align == 1
    assert opcode_name(0x6A) == "i32.add"
    assert opcode_name(0xFD00FF) == "f64x2.convert_low_i32x4_u"
    assert opcode_name(0xFF) == "<unknown 0xff>"
