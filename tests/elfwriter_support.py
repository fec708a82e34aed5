"""Helpers for tests/test_elfwriter.py: relocatable objects to link (from wat, for the
host or AArch64, or from LLVM IR), readelf, and an independent decoder of the fields
the AArch64 and x86-64 relocations patch."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess

import llvmlite.binding as llvm
import wasmtime
from llvmlite import ir

from aot.codegen import CompileOptions
from aot.codegen.emit import host_triple, optimize_and_emit, target_machine
from aot.codegen.translate import artifact_blobs, translate_module
from aot.wasm import parse

AARCH64 = "aarch64-unknown-linux-gnu"
X86_64 = "x86_64-unknown-linux-gnu"


def wasm_object(wat: str, triple: str | None = None, opt_level: int = 2) -> bytes:
    """compile_module up to (not including) linking, for `triple` (default: the host), as
    one self-contained object: the bulk data the writer adds to real artifacts
    (`artifact_blobs`) is defined in the IR instead, so that the object alone links and
    its relocations can be checked one by one."""
    options = CompileOptions(opt_level=opt_level, target_cpu="generic" if triple else "x86-64-v2")
    tm = target_machine(options, triple)
    module = parse(wasmtime.wat2wasm(wat))
    text = translate_module(module, options, triple or host_triple(), str(tm.target_data))
    for blob in artifact_blobs(module):
        data = ir.Constant(ir.ArrayType(ir.IntType(8), len(blob.data)), bytearray(blob.data))
        text, n = re.subn(rf'^@"?{blob.symbol}"? = external hidden constant \[0 x i8\]$',
                          lambda _, d=data, b=blob: f'@"{b.symbol}" = hidden constant {d}, align {b.align}',
                          text, flags=re.M)
        assert n <= 1
    return optimize_and_emit(text, tm, opt_level)


def ir_object(ir_text: str, triple: str | None = None) -> bytes:
    """An object from hand-written LLVM IR (PIC, small code model, as aot's)."""
    tm = target_machine(CompileOptions(opt_level=2, target_cpu="generic"), triple)
    mod = llvm.parse_assembly(ir_text)
    mod.triple = triple or host_triple()
    mod.verify()
    return tm.emit_object(mod)


def readelf(path: str, *args: str) -> subprocess.CompletedProcess:
    exe = shutil.which("readelf")
    assert exe, "readelf not installed"
    return subprocess.run([exe, "-W", *args, path], capture_output=True, text=True)


# --- decoding the patched fields (written from the ISA manuals, independently of
# aot.codegen.elfwriter.relocate) ---------------------------------------------------------

def _sext(value: int, bits: int) -> int:
    return value - (1 << bits) if value & (1 << (bits - 1)) else value


def aarch64_target(insn: int, place: int, kind: str) -> int:
    """The address an AArch64 instruction at `place` refers to, for the part of it that
    relocation `kind` patched: 'page' (ADRP), 'adr', 'lo12:<size log2>' (ADD/LDR/STR
    immediate, scaled), 'b26', 'b19', 'b14'."""
    if kind == "page":
        assert insn & 0x9F000000 == 0x90000000, f"not ADRP: {insn:08x}"
        imm = _sext((((insn >> 5) & 0x7FFFF) << 2) | ((insn >> 29) & 3), 21)
        return (place & ~0xFFF) + (imm << 12)
    if kind == "adr":
        assert insn & 0x9F000000 == 0x10000000, f"not ADR: {insn:08x}"
        return place + _sext((((insn >> 5) & 0x7FFFF) << 2) | ((insn >> 29) & 3), 21)
    if kind.startswith("lo12:"):
        return ((insn >> 10) & 0xFFF) << int(kind[5:])
    bits, lsb = {"b26": (26, 0), "b19": (19, 5), "b14": (14, 5)}[kind]
    return place + 4 * _sext((insn >> lsb) & ((1 << bits) - 1), bits)


# relocation type -> (decoder kind, what the field holds)
AARCH64_FIELDS = {
    275: ("page", "S+A"),  # ADR_PREL_PG_HI21
    277: ("lo12:0", "S+A"),  # ADD_ABS_LO12_NC
    278: ("lo12:0", "S+A"),  # LDST8
    284: ("lo12:1", "S+A"),
    285: ("lo12:2", "S+A"),
    286: ("lo12:3", "S+A"),
    299: ("lo12:4", "S+A"),
    282: ("b26", "S+A"),  # JUMP26
    283: ("b26", "S+A"),  # CALL26
    280: ("b19", "S+A"),  # CONDBR19
    279: ("b14", "S+A"),  # TSTBR14
    311: ("page", "GOT"),  # ADR_GOT_PAGE
    312: ("lo12:3", "GOT"),  # LD64_GOT_LO12_NC
}


def u32(data: bytes, pos: int) -> int:
    return struct.unpack_from("<I", data, pos)[0]


def i32(data: bytes, pos: int) -> int:
    return struct.unpack_from("<i", data, pos)[0]


def u64(data: bytes, pos: int) -> int:
    return struct.unpack_from("<Q", data, pos)[0]
