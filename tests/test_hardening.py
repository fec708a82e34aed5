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
    "wide arithmetic": "(module (func (drop (drop (i64.add128 (i64.const 0) (i64.const 0) "
                       "(i64.const 0) (i64.const 0))))))",
    "custom page sizes": "(module (memory 1 (pagesize 1)))",
    "memory64": "(module (table i64 1 funcref))",  # table64; 64-bit memories are built
    "GC": "(module (type (struct)))",
    "exception handling": "(module (tag) (func (throw 0)))",
    "the component model": "(component)",
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


# --- implementation limits (aot.wasm.limits) ------------------------------------------------

def _leb(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _module(types: bytes, body: bytes, n_locals: int = 0) -> bytes:
    """One function of type 0 with `body` (binary; wat parsers recurse on nesting)."""
    section = lambda sid, payload: bytes([sid]) + _leb(len(payload)) + payload  # noqa: E731
    locals_ = (_leb(1) + _leb(n_locals) + b"\x7f") if n_locals else _leb(0)
    code = locals_ + body + b"\x0b"
    return (b"\0asm\x01\0\0\0" + section(1, _leb(1) + types) + section(3, b"\x01\x00")
            + section(7, b"\x01\x01f\x00\x00") + section(10, _leb(1) + _leb(len(code)) + code))


VOID = b"\x60\x00\x00"
OPENERS = {"block": b"\x02\x40", "loop": b"\x03\x40", "if": b"\x41\x00\x04\x40"}


def _nested(kind: str, depth: int) -> bytes:
    return _module(VOID, OPENERS[kind] * depth + b"\x0b" * depth)


@pytest.mark.parametrize("kind", sorted(OPENERS))
def test_pathological_nesting_is_refused_by_a_documented_limit(kind):
    """100,000 nested loops ran for more than a minute in LLVM (100,000 ifs: 20 s)."""
    with pytest.raises(aot.CompileError, match="implementation limit: (loops|blocks) nested more than"):
        aot.compile(_nested(kind, 100_000), cache=False)


@pytest.mark.parametrize(("kind", "depth"), [("loop", 1_000), ("block", 10_000), ("if", 10_000)])
def test_nesting_up_to_the_limit_compiles_in_linear_work(kind, depth):
    """At the limit the module compiles, and the translation's work (its IR, counted,
    not timed) grows linearly with the depth."""
    from aot.codegen import CompileOptions
    from aot.codegen.emit import host_triple
    from aot.codegen.translate import translate_module
    from aot.wasm import parse

    def ir_size(d: int) -> int:
        return len(translate_module(parse(_nested(kind, d)), CompileOptions(), host_triple(), ""))

    assert ir_size(depth) <= 2.2 * ir_size(depth // 2)
    aot.compile(_nested(kind, depth), cache=False).instantiate().exports.f()


def test_huge_function_types_and_too_many_locals_are_refused():
    """A type of 100,000 parameters kept LLVM busy for more than a minute."""
    params = _leb(100_000) + b"\x7f" * 100_000
    with pytest.raises(aot.CompileError, match="implementation limit: 100,000 parameters, more than 1,000"):
        aot.compile(_module(b"\x60" + params + b"\x00", b""), cache=False)
    with pytest.raises(aot.CompileError, match="too many locals"):
        aot.compile(_module(VOID, b"", n_locals=50_001), cache=False)
    aot.compile(_module(VOID, b"", n_locals=50_000), cache=False).instantiate().exports.f()
    thousand = aot.compile(_module(b"\x60" + _leb(1000) + b"\x7f" * 1000 + b"\x00", b""), cache=False)
    thousand.instantiate().exports.f(*range(1000))


def test_a_megabyte_function_translates_in_linear_work():
    """One function of about 1 MB: its IR (counted) is proportional to its size."""
    from aot.codegen import CompileOptions
    from aot.codegen.emit import host_triple
    from aot.codegen.translate import translate_module
    from aot.wasm import parse

    step = b"\x20\x00\x41\xb9\xe0\x00\x6c\x20\x01\x6a\x21\x01"  # local1 += local0 * 12345

    def module(n: int) -> bytes:
        return _module(b"\x60\x01\x7f\x00", step * n, n_locals=1)

    big = module(85_000)
    assert len(big) > 1_000_000
    sizes = [len(translate_module(parse(module(n)), CompileOptions(), host_triple(), ""))
             for n in (42_500, 85_000)]
    assert sizes[1] <= 2.1 * sizes[0]
    with pytest.raises(aot.CompileError, match="implementation limit: a function body of"):
        aot.compile(module(700_000), cache=False)  # 8.4 MB: past 7,654,321 bytes


# --- resource limits (aot.StoreLimits) ---------------------------------------------------------

GROWER = """(module
  (memory (export "memory") 1)
  (table (export "table") 1 funcref)
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "grow_table") (param i32) (result i32) (table.grow (ref.null func) (local.get 0)))
  (func (export "runaway") (result i32) (local $n i32)
    (block $full (loop $more
      (br_if $full (i32.eq (memory.grow (i32.const 1)) (i32.const -1)))
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (br $more)))
    (local.get $n)))"""


def test_a_guest_cannot_grow_past_the_store_limits():
    store = aot.Store(limits=aot.StoreLimits(memory_size=4 * 65536, table_elements=10))
    e = aot.compile(wat(GROWER)).instantiate(store=store).exports
    assert e.grow(2) == 1 and e.grow(1) == 3
    assert e.grow(1) == -1 and e.memory.size == 4  # a fifth page: past the limit
    assert e.grow_table(9) == 1 and e.grow_table(1) == -1 and e.table.size == 10


def test_a_grow_from_python_answers_to_the_same_limits():
    store = aot.Store(limits=aot.StoreLimits(memory_size=2 * 65536, table_elements=3))
    e = aot.compile(wat(GROWER)).instantiate(store=store).exports
    assert e.memory.grow(1) == 1 and e.table.grow(2) == 1
    with pytest.raises(aot.ResourceLimitError, match="memory from 2 by 1 pages"):
        e.memory.grow(1)
    with pytest.raises(aot.ResourceLimitError, match="table of 3 elements by 1"):
        e.table.grow(1)
    assert e.memory.size == 2 and e.table.size == 3 and e.grow(0) == 2


def test_a_runaway_guest_takes_no_more_than_the_store_allows():
    store = aot.Store(limits=aot.StoreLimits(total_memory=3 * 2**20))
    a = aot.compile(wat(GROWER)).instantiate(store=store).exports
    b = aot.compile(wat(GROWER)).instantiate(store=store).exports
    grown = a.runaway()  # every page it can get: 3 MiB in all, 64 KiB of it b's
    assert grown == 48 - 2 and b.runaway() == 0
    assert (a.memory.size + b.memory.size) * 65536 == 3 * 2**20


def test_instantiation_past_a_limit_is_refused():
    module = aot.compile(wat(GROWER))
    store = aot.Store(limits=aot.StoreLimits(instances=2))
    module.instantiate(store=store)
    module.instantiate(store=store)
    with pytest.raises(aot.ResourceLimitError, match="instances"):
        module.instantiate(store=store)
    store.set_limits(memories=0)
    with pytest.raises(aot.ResourceLimitError, match="memories"):
        module.instantiate(store=store)
    with pytest.raises(aot.ResourceLimitError, match="size of a memory"):
        aot.compile(wat("(module (memory 10))")).instantiate(
            store=aot.Store(limits=aot.StoreLimits(memory_size=65536)))
    with pytest.raises(ValueError, match="non-negative"):
        aot.StoreLimits(tables=-1)


LEAF_SCRIPT = """
import sys, threading, aot, wasmtime
n = 20_000  # v128 locals: a 320 KB frame at -O0
text = f'''(module
  (func $leaf (local {"v128 " * n}) (local.set {n - 1} (v128.const i64x2 1 2)) (drop (local.get {n - 1})))
  (func $rec (export "rec") (param i32)
    (call $leaf)
    (if (local.get 0) (then (call $rec (i32.sub (local.get 0) (i32.const 1)))))))'''
module = aot.compile(wasmtime.wat2wasm(text), opt_level=0, cache=False)
result = []

def run():
    inst = module.instantiate(store=aot.Store(max_wasm_stack=900 * 1024))
    try:
        inst.exports.rec(100_000)
        result.append("returned")
    except aot.Trap as trap:
        result.append(trap.code.name)

threading.stack_size(1024 * 1024)  # 124 KiB of slack below the limit: less than the frame
thread = threading.Thread(target=run)
thread.start()
thread.join()
print(*result)
"""


def test_a_leaf_with_a_large_frame_checks_the_stack_limit():
    """Leaves skipped the stack check: one with a 320 KB frame, called near the limit,
    ran past the thread's stack (SIGSEGV, rc 139) instead of trapping."""
    done = subprocess.run([sys.executable, "-c", LEAF_SCRIPT], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "STACK_OVERFLOW"


def test_a_store_can_make_grow_failures_traps():
    store = aot.Store(limits=aot.StoreLimits(memory_size=2 * 65536, table_elements=2,
                                             trap_on_grow_failure=True))
    e = aot.compile(wat(GROWER)).instantiate(store=store).exports
    assert e.grow(1) == 1
    with pytest.raises(aot.Trap) as info:
        e.grow(1)
    assert info.value.code == aot.TrapCode.GROW_LIMIT and e.memory.size == 2
    with pytest.raises(aot.Trap, match="forcing a memory growth failure to be a trap"):
        e.grow_table(5)
    assert e.grow(0) == 2  # a grow the limits allow still works
