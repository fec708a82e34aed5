"""Regression tests of issue 15's defects: each failed before its fix."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import time
import zlib

import pytest
import wasmtime

import aot
from aot.abi.artifact import VTable
from aot.abi.fingerprint import TRAILER_TAIL
from tests.conftest import wat

LOOP = "(module (func (export \"spin\") (param i32) (loop (br_if 0 (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))))))"


def test_fuel_is_refused_for_code_compiled_without_it():
    """wasmtime refuses fuel without `consume_fuel`; aot accepted it and ran unmetered."""
    unmetered = aot.compile(wat(LOOP))
    inst = unmetered.instantiate()
    with pytest.raises(aot.NotSupportedError, match="compiled without fuel metering"):
        inst.store.set_fuel(5)
    store = aot.Store()
    store.set_fuel(5)
    with pytest.raises(aot.NotSupportedError, match="fuel=True"):
        unmetered.instantiate(store=store)
    metered = aot.compile(wat(LOOP), fuel=True).instantiate(store=store)
    with pytest.raises(aot.Trap, match="fuel"):
        metered.exports.spin(1000)


@pytest.mark.parametrize(("args", "message"), [
    (["--target", "riscv64-linux-gnu"], "not supported: target riscv64-linux-gnu"),
    (["--target-cpu", "bogus"], "unknown CPU 'bogus'"),
])
def test_unknown_targets_and_cpus_are_refused_without_aborting(tmp_path, args, message):
    """Both aborted the process inside LLVM (rc 134), the CPU after six warnings."""
    src = tmp_path / "m.wasm"
    src.write_bytes(wat(LOOP))
    done = subprocess.run([sys.executable, "-m", "aot", "compile", str(src), "-o",
                           str(tmp_path / "m.so"), "--no-cache", *args],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    assert message in done.stderr
    assert "LLVM ERROR" not in done.stderr and "not a recognized processor" not in done.stderr


PROPOSALS = {
    "threads": "(module (memory 1 1 shared))",
    "memory64": "(module (memory i64 1))",
    "tail calls": "(module (func (return_call 0)))",
    "multi-memory": "(module (memory 1) (memory $b 1) (func (drop (i32.load $b (i32.const 0)))))",
    "GC": "(module (type (struct)))",
    "exception handling": "(module (tag) (func (throw 0)))",
    "the component model": "(component)",
    "extended constant expressions": "(module (global i32 (i32.add (i32.const 1) (i32.const 2))))",
    "relaxed SIMD": "(module (func (param v128) (result v128) (i32x4.relaxed_trunc_f32x4_s (local.get 0))))",
    "function references": "(module (type $t (func)) (func (param (ref $t))))",
}


@pytest.mark.parametrize("proposal", sorted(PROPOSALS))
def test_post_2_0_proposals_are_refused_by_name(proposal):
    """They were refused in the decoder's words ("integer too large", "illegal opcode
    12", "malformed memop flags", "unknown binary version")."""
    with pytest.raises(aot.NotSupportedError, match=f"^not supported: {proposal}: "):
        aot.compile(wasmtime.wat2wasm(PROPOSALS[proposal]), cache=False)


def _with_vtable_word(artifact: bytes, word: int, value: int) -> bytes:
    """`artifact` with one vtable word replaced and its checksum recomputed."""
    import io

    from elftools.elf.elffile import ELFFile

    elf = ELFFile(io.BytesIO(artifact))
    symbol = next(s for s in elf.get_section_by_name(".symtab").iter_symbols()
                  if s.name == "aot_vtable")
    at = next(seg["p_offset"] + symbol["st_value"] - seg["p_vaddr"] for seg in elf.iter_segments()
              if seg["p_type"] == "PT_LOAD" and seg["p_vaddr"] <= symbol["st_value"] < seg["p_vaddr"] + seg["p_filesz"])
    body = bytearray(artifact[:-TRAILER_TAIL.size + 4])  # up to and with the length field
    struct.pack_into("<q", body, at + 8 * word, value)
    return bytes(body) + struct.pack("<I", zlib.crc32(body)) + artifact[-8:]


@pytest.mark.parametrize(("word", "value"), [
    (VTable.METADATA, 1 << 40), (VTable.METADATA_LEN, 1 << 40), (VTable.ENTRIES, -(1 << 30)),
    (VTable.N_TYPES, 1 << 33), (VTable.TEXT_END, 0), (VTable.INIT, 8),
])
def test_a_vtable_pointing_outside_the_artifact_is_refused(tmp_path, word, value):
    """With a recomputed checksum, such artifacts crashed the loader (SIGSEGV reading
    through the word); now every address and count is checked first."""
    good = aot.compile_artifact(wat("(module (func (export \"f\")))"))
    path = tmp_path / "m.so"
    path.write_bytes(_with_vtable_word(good, word, value))
    done = subprocess.run([sys.executable, "-c", "import aot, sys\n"
                           "try:\n    aot.load(sys.argv[1])\n"
                           "except aot.ArtifactError as e:\n    print(e)\n", str(path)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "corrupt vtable" in done.stdout or "corrupt module description" in done.stdout


CHAIN = """(module (memory 1)
  (func $boom unreachable)
  (func $inner (param i32) (result i32)
    (if (i32.eq (local.get 0) (i32.const 1)) (then (call $boom)))
    (if (i32.eq (local.get 0) (i32.const 2)) (then (return (i32.load (i32.const 70000)))))
    (i32.div_s (i32.const 1) (local.get 0)))
  (func $middle (param i32) (result i32) (call $inner (local.get 0)))
  (func $outer (export "outer") (param i32) (result i32) (call $middle (local.get 0))))"""


@pytest.mark.parametrize("opt_level", [0, 1, 2, 3])
@pytest.mark.parametrize("arg", [0, 1, 2])  # divide by zero, unreachable, out of bounds
def test_backtraces_through_inlined_frames_match_wasmtime(opt_level, arg):
    """At -O2 the callees are inlined into the export; the frames must still be there,
    innermost first, with wasmtime's offsets."""
    wasm = wat(CHAIN)
    store = wasmtime.Store()
    outer = wasmtime.Instance(store, wasmtime.Module(store.engine, wasm), []).exports(store)["outer"]
    with pytest.raises(wasmtime.Trap) as theirs:
        outer(store, arg)
    expected = [(f.func_name, f.module_offset) for f in theirs.value.frames]
    with pytest.raises(aot.Trap) as ours:
        aot.compile(wasm, opt_level=opt_level).instantiate().exports.outer(arg)
    assert [(f.func_name, f.module_offset) for f in ours.value.frames] == expected


FAULT_HANDLER_SCRIPT = """
import gc, sys, aot, wasmtime
def module(address):
    return wasmtime.wat2wasm('(module (memory 1) (func (export "f") (result i32) '
                             f'(i32.load (i32.const {address}))))')
path = sys.argv[1]
with open(path, "wb") as f:
    f.write(aot.compile_artifact(module(70000)))
inst = aot.load(path).instantiate()  # the first guard-mode artifact: it provides the handler
try:
    inst.exports.f()
except aot.Trap:
    pass
with open(path, "r+b") as f:  # rewritten in place, then truncated
    f.write(bytes(f.seek(0, 2)))
    f.truncate(100)
del inst
gc.collect()
other = aot.compile(module(80000), cache=False).instantiate()
try:
    other.exports.f()
except aot.Trap as trap:
    print(trap.code.name)
"""


def test_the_fault_handler_survives_its_file_being_rewritten(tmp_path):
    """The handler ran from the first artifact's file mapping: rewriting that file made
    the next out-of-bounds trap of any module kill the process (SIGSEGV, rc 139)."""
    done = subprocess.run([sys.executable, "-c", FAULT_HANDLER_SCRIPT, str(tmp_path / "first.so")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "MEMORY_OUT_OF_BOUNDS"


def test_the_verification_mark_is_void_after_an_edit_that_restores_the_mtime(tmp_path):
    """Corrupt the file in place and restore its mtime (`touch -r`, `rsync --inplace -t`):
    the mark used to vouch for it (size and mtime matched) and it loaded unchecked."""
    big = ('(module (memory 1) (func (export "f") (result i32) (i32.const 7)) '
           '(data (i32.const 0) "' + "\\2a" * 40000 + '"))')
    path = aot.compile_file(wat(big), tmp_path / "m.so")
    try:
        os.getxattr(path, "user.aot.verified")
    except OSError:
        pytest.skip("this filesystem keeps no user extended attributes")
    from aot.abi.fingerprint import MARK_EARLY_NS, MARK_LATE_NS

    data = path.read_bytes()
    assert aot.load(path).instantiate().exports.f() == 7  # marked: loads without the pass
    marked_ns = int(os.getxattr(path, "user.aot.verified").rsplit(b":", 1)[1])
    while time.time_ns() <= marked_ns + MARK_LATE_NS + MARK_EARLY_NS + 5_000_000:
        pass  # an edit within a clock tick of the mark would look like the mark's own
    st = os.stat(path)
    with open(path, "r+b") as f:  # a byte of the data segment, rewritten in place
        at = data.index(b"\x2a" * 64) + 32
        f.seek(at)
        f.write(b"\x2b")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # as `touch -r` would
    assert os.stat(path).st_mtime_ns == st.st_mtime_ns and os.stat(path).st_size == st.st_size
    with pytest.raises(aot.ArtifactError, match="checksum mismatch"):
        aot.load(path)


@pytest.mark.parametrize(("text", "ours", "theirs"), [
    ('(module (type (func)) (table 1 funcref) (func (export "f") '
     '(call_indirect (type 0) (i32.const 5))))', "UNDEFINED_ELEMENT", "TABLE_OUT_OF_BOUNDS"),
    ('(module (table 1 funcref) (func (export "f") (drop (table.get 0 (i32.const 5)))))',
     "TABLE_OUT_OF_BOUNDS", "TABLE_OUT_OF_BOUNDS"),
    ('(module (func (export "f") unreachable))', "UNREACHABLE_CODE_REACHED", "UNREACHABLE"),
])
def test_trap_codes_map_to_wasmtimes_names(text, ours, theirs):
    """aot names traps after the spec's messages; `TrapCode.wasmtime_name` is wasmtime's
    name for the same trap (the mapping is documented in aot.abi.traps and the README)."""
    wasm = wat(text)
    with pytest.raises(aot.Trap) as info:
        aot.compile(wasm).instantiate().exports.f()
    store = wasmtime.Store()
    f = wasmtime.Instance(store, wasmtime.Module(store.engine, wasm), []).exports(store)["f"]
    with pytest.raises(wasmtime.Trap) as theirs_info:
        f(store)
    assert info.value.code.name == ours
    assert info.value.code.wasmtime_name == theirs == theirs_info.value.trap_code.name
