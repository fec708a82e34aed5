"""The artifact is an ELF shared object with unwind info for every compiled function, and
the ABI constants agree with the C declarations the loader uses."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

import aot
from aot.abi import pyapi, vmctx
from aot.abi.fingerprint import STAMP_XATTR
from aot.elf import ArtifactFile
from aot.loader.ffi import ffi
from tests.conftest import wat

MODULE = """(module
  (func $a (export "a") (param i32) (result i32) (i32.mul (local.get 0) (call $b (local.get 0))))
  (func $b (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
  (func $c (export "c") (result i32 i32) (i32.const 1) (i32.const 2))
  (table 1 funcref) (elem (i32.const 0) $b))"""


@pytest.fixture(scope="module")
def artifact(tmp_path_factory):
    path = tmp_path_factory.mktemp("art") / "m.so"
    aot.compile_file(wat(MODULE), path)
    return path


@pytest.mark.skipif(shutil.which("file") is None, reason="the `file` command is not installed")
def test_file_says_shared_object(artifact):
    out = subprocess.run(["file", str(artifact)], capture_output=True, text=True).stdout
    assert "ELF 64-bit LSB shared object" in out


def test_eh_frame_covers_every_compiled_function(artifact):
    with ArtifactFile(str(artifact)) as elf:
        assert elf.elf_type == "ET_DYN"
        assert elf.has_section(".eh_frame") and elf.has_section(".eh_frame_hdr")
        wasm_functions = [f for f in elf.functions if f.is_wasm]
        # $a, $c (exported) and $b (in a table) escape, so each has a wasm-call wrapper.
        assert {f.name for f in wasm_functions} >= {"aot_wasm_call_f0", "aot_wasm_call_f1", "aot_wasm_call_f2"}
        assert elf.functions, "no function symbols"
        assert elf.functions_without_unwind() == []


def test_only_the_vtable_is_exported(artifact):
    with ArtifactFile(str(artifact)) as elf:
        assert elf.dynamic_symbols == ["aot_vtable"]


def test_artifact_loads_and_runs(artifact):
    inst = aot.load(artifact).instantiate()
    assert inst.exports.a(6) == 42
    assert inst.exports.c() == (1, 2)


@pytest.mark.parametrize(
    ("struct", "constants"),
    [
        ("VMStoreContext", {"stack_limit": vmctx.StoreCtx.STACK_LIMIT, "jmp_buf": vmctx.StoreCtx.JMP_BUF,
                            "trap_code": vmctx.StoreCtx.TRAP_CODE,
                            "max_wasm_stack": vmctx.StoreCtx.MAX_WASM_STACK,
                            "fuel": vmctx.StoreCtx.FUEL, "interrupt": vmctx.StoreCtx.INTERRUPT,
                            "trap_offset": vmctx.StoreCtx.TRAP_OFFSET,
                            "backtrace": vmctx.StoreCtx.BACKTRACE,
                            "backtrace_len": vmctx.StoreCtx.BACKTRACE_LEN}),
        ("VMFuncRef", {"wasm_call": vmctx.FuncRef.WASM_CALL, "type_id": vmctx.FuncRef.TYPE_ID,
                       "vmctx": vmctx.FuncRef.VMCTX}),
        ("VMMemoryDefinition", {"base": vmctx.MemoryDef.BASE, "length": vmctx.MemoryDef.LENGTH}),
        ("VMTableDefinition", {"base": vmctx.TableDef.BASE, "length": vmctx.TableDef.LENGTH}),
        ("VMHostContext", {"magic": vmctx.HostCtx.MAGIC, "callback": vmctx.HostCtx.CALLBACK,
                           "func_id": vmctx.HostCtx.FUNC_ID,
                           "py_callable": vmctx.HostCtx.PY_CALLABLE,
                           "py_on_error": vmctx.HostCtx.PY_ON_ERROR,
                           "py_results": vmctx.HostCtx.PY_RESULTS}),
        ("PyEntryData", {"callee": pyapi.PyEntryData.CALLEE, "fallback": pyapi.PyEntryData.FALLBACK,
                         "raiser": pyapi.PyEntryData.RAISER, "entry": pyapi.PyEntryData.ENTRY,
                         "values": pyapi.PyEntryData.VALUES}),
    ],
)
def test_abi_offsets_match_c_declarations(struct, constants):
    for field, offset in constants.items():
        assert ffi.offsetof(struct, field) == offset, f"{struct}.{field}"


def test_abi_sizes_match_c_declarations():
    assert ffi.sizeof("VMStoreContext") == vmctx.StoreCtx.SIZE
    assert ffi.sizeof("VMFuncRef") == vmctx.FuncRef.SIZE
    assert ffi.sizeof("ValRaw") == vmctx.VALRAW_SIZE
    assert ffi.sizeof("VMHostContext") == vmctx.HostCtx.SIZE
    assert ffi.sizeof("PyEntryData") == pyapi.PyEntryData.SIZE


def test_foreign_and_corrupt_files_are_refused(tmp_path):
    not_elf = tmp_path / "x.so"
    not_elf.write_bytes(b"hello world" * 10)
    with pytest.raises(aot.ArtifactError, match="not an ELF file"):
        aot.load(not_elf)
    libc = next((p for p in ("/lib/x86_64-linux-gnu/libm.so.6", "/usr/lib/x86_64-linux-gnu/libm.so.6")
                 if __import__("os").path.exists(p)), None)
    if libc:
        with pytest.raises(aot.ArtifactError, match="not an aot artifact"):
            aot.load(libc)
    with pytest.raises(aot.ArtifactError, match="cannot read"):
        aot.load(tmp_path / "missing.so")


def _mark(path) -> bytes | None:
    try:
        return os.getxattr(path, STAMP_XATTR)
    except OSError:
        return None


# Larger than what the loader reads whole (and always checks): its mark matters.
BIG_MODULE = MODULE[:-1] + """ (memory 1) (data (i32.const 0) "{}"))""".format("\\2a" * 20000)


def test_verification_mark_skips_the_checksum_only_while_the_file_is_unchanged(tmp_path):
    """aot marks the artifacts it writes (and files it has checked) so that loads skip
    the checksum pass; any write to the file voids the mark, and the damage is caught."""
    path = aot.compile_file(wat(BIG_MODULE), tmp_path / "m.so")
    assert path.stat().st_size > 20000
    if _mark(path) is None:
        pytest.skip("this filesystem keeps no user extended attributes")
    original = path.read_bytes()
    assert aot.load(path).instantiate().exports.a(2) == 6

    with open(path, "r+b") as f:  # one bit, written in place: a new mtime
        f.seek(len(original) // 2)
        f.write(bytes([original[len(original) // 2] ^ 0x10]))
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1))  # whatever the clock's grain
    with pytest.raises(aot.ArtifactError, match="checksum mismatch"):
        aot.load(path)

    other = tmp_path / "other.so"  # a file aot did not write: checked once, then marked
    other.write_bytes(original)
    assert _mark(other) is None
    assert aot.load(other).instantiate().exports.a(1) == 2
    assert _mark(other) is not None


def test_a_small_file_is_checked_whole_whatever_its_mark_says(tmp_path):
    """A file the loader reads in one call is checked by CRC at every load: a mark made
    for the file before damage (a copy of it, a clock that did not move) changes nothing."""
    from aot.abi.fingerprint import mark_verified, trailer_crc

    path = aot.compile_file(wat(MODULE), tmp_path / "m.so")
    original = path.read_bytes()
    assert len(original) < 16384
    damaged = bytearray(original)
    damaged[len(original) // 2] ^= 0x10
    path.write_bytes(damaged)
    fd = os.open(path, os.O_RDONLY)
    try:
        mark_verified(fd, trailer_crc(original))  # vouches for the bytes it no longer has
    finally:
        os.close(fd)
    with pytest.raises(aot.ArtifactError, match="checksum mismatch"):
        aot.load(path)


def test_fault_state_layout_matches_what_the_compiled_handler_reads():
    from aot.loader import signals

    assert signals.layout_matches()
