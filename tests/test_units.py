"""Compiling as a build tool does (issue 13): codegen units compiled in worker processes,
artifacts that do not depend on the number of jobs, bulk data written by the ELF writer
(sparse memory images), and the compile profile."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest
from elftools.elf.elffile import ELFFile

import aot
import aot.cache
from aot.codegen import CompileOptions, CompileProfile, pipeline, units
from aot.codegen.units import plan_units
from aot.errors import CompileError
from aot.wasm import parse
from tests.conftest import checked_bodies, wat

N_FUNCS = 60


def _many_functions(factor=lambda i: i + 3, padding=lambda i: 0, data="\\01\\02\\03\\04",
                    name=lambda i: f"f{i}", export=lambda i: f"f{i}", extra=lambda i: "") -> str:
    """A chain of functions, each calling the next, so calls cross every unit boundary;
    the data segment `data` is read through memory.init from each unit.  Function i
    multiplies by `factor(i)`, and `padding(i)` no-op instructions change its size; it
    is named `name(i)` (the name section), exported as `export(i)`, and `extra(i)` adds
    instructions with no effect on the result."""
    funcs = []
    for i in range(N_FUNCS):
        call = f"(call ${name(i + 1)} (local.get 0))" if i + 1 < N_FUNCS else "(local.get 0)"
        funcs.append(f"""
  (func ${name(i)} (export "{export(i)}") (param i32) (result i32)
    {"nop " * padding(i)} {extra(i)}
    (memory.init $seg (i32.const {64 * i}) (i32.const 0) (i32.const 4))
    (i32.add (i32.mul (local.get 0) (i32.const {factor(i)})) {call}))""")
    return (f'(module (memory (export "memory") 1) (data $seg "{data}")'
            + "".join(funcs) + ")")


@pytest.fixture(scope="module")
def many() -> bytes:
    return wat(_many_functions())


def _reference(x: int, factor=lambda i: i + 3) -> int:
    """What f0(x) returns, computed the way wasm does (i32 wrapping):
    f_i(x) = x * factor(i) + f_{i+1}(x), and the last one adds x itself."""
    acc = x
    for i in reversed(range(N_FUNCS)):
        acc = (x * factor(i) + acc) & 0xFFFFFFFF
    return acc - (1 << 32) if acc >= 1 << 31 else acc


def test_the_plan_splits_by_size_and_finds_cross_unit_calls(many, monkeypatch):
    module = parse(many)
    plan = plan_units(module, 4)
    assert plan.count == 4
    assert [i for r in plan.units for i in r] == list(range(N_FUNCS))  # every function once
    sizes = plan.unit_sizes
    assert max(sizes) <= 2 * min(sizes)
    # The first function of each later unit is called from the unit before: small, so
    # that unit gets a copy to inline, and the copy calls the second function there.
    assert plan.copies[:-1] == [{r[0]} for r in plan.units[1:]] and not plan.copies[-1]
    assert plan.shared == {r[1] for r in plan.units[1:]}
    monkeypatch.setattr(units, "INLINE_COPY_BYTES", 0)  # no copies: calls cross units
    big = plan_units(module, 4)
    assert big.shared == {r[0] for r in big.units[1:]} and not any(big.copies)
    assert plan_units(module).count == 1  # small: one unit when automatic


def test_a_per_function_plan_gives_each_function_a_unit(many, monkeypatch):
    module = parse(many)
    plan = plan_units(module, "function")
    assert plan.per_function and plan.count == N_FUNCS + 1  # + the runtime part's
    assert plan.units == [range(i, i + 1) for i in range(N_FUNCS)] + [range(N_FUNCS, N_FUNCS)]
    # No inline copies (nothing inlines below -O2), so every callee is called across.
    assert not any(plan.copies) and plan.shared == set(range(1, N_FUNCS))
    # Automatic: per function only where the module is large enough to be split at all.
    assert plan_units(module, per_function=True).count == 1
    monkeypatch.setattr(units, "SINGLE_UNIT_BYTES", 0)
    assert plan_units(module, per_function=True).count == N_FUNCS + 1
    assert plan_units(module, 3, per_function=True).count == 3  # an explicit count wins
    assert [units.function_grain(o) for o in range(4)] == [True, True, False, False]


@pytest.mark.parametrize("value", ["functions", 0, 1025, True, 2.0])
def test_a_bad_codegen_units_value_is_refused(value):
    with pytest.raises(ValueError, match="codegen_units must be"):
        CompileOptions(codegen_units=value)


@pytest.fixture
def small_units(monkeypatch):
    """Content-defined units for modules as small as the test's: a few functions each."""
    monkeypatch.setattr(units, "SINGLE_UNIT_BYTES", 0)
    monkeypatch.setattr(units, "UNIT_MIN_BYTES", 60)
    monkeypatch.setattr(units, "UNIT_MAX_BYTES", 240)  # about ten functions


def _edited(i: int) -> int:
    return 1000 + i if i == N_FUNCS // 2 else i + 3  # one function multiplies by another


def test_content_defined_units_move_only_around_an_edit(small_units):
    """Growing one function by a few bytes leaves the units before it as they were, and
    all but the next one or two after it."""
    before = plan_units(parse(wat(_many_functions(padding=lambda i: i % 7))))
    edited = N_FUNCS // 2
    after = plan_units(parse(wat(_many_functions(padding=lambda i: i % 7 + 9 * (i == edited)))))
    assert before.count >= 6 and before.units[-1] == range(N_FUNCS, N_FUNCS)  # + runtime unit
    same = set(before.units) & set(after.units)
    assert all(r in same for r in before.units if r.stop <= edited)
    assert len(set(before.units) - same) <= 3


@pytest.mark.parametrize("opt_level", [0, 1, 2])
def test_a_rebuild_after_editing_one_function_compiles_only_its_unit(small_units, tmp_path,
                                                                     opt_level):
    """At -O0 and -O1 each function is a unit of its own, so the rebuild compiles that
    function alone; at -O2 (inlining) the unit that holds it."""
    options = CompileOptions(opt_level=opt_level)
    first = CompileProfile()
    aot.compiler.compile_artifact(wat(_many_functions()), options, jobs=1, profile=first,
                                  cache=tmp_path)
    assert first.functions_compiled == N_FUNCS and first.units_cached == 0
    edited = wat(_many_functions(factor=_edited))
    plan = plan_units(parse(edited), per_function=units.function_grain(opt_level))
    assert plan.per_function == (opt_level < 2)
    unit = next(r for r in plan.units if N_FUNCS // 2 in r)
    again = CompileProfile()
    rebuilt = aot.compiler.compile_artifact(edited, options, jobs=1, profile=again, cache=tmp_path)
    # Only the unit holding the edited function is compiled again (the runtime part, the
    # last unit, does not change either).
    assert again.functions_compiled == len(unit) < N_FUNCS // 5
    assert again.units_cached == plan.count - 1
    if plan.per_function:
        assert again.functions_compiled == 1 and plan.count == N_FUNCS + 1
    # ... and the artifact is the one a compile without the cache makes.
    assert rebuilt == aot.compiler.compile_artifact(edited, options, jobs=1)
    path = tmp_path / "m.so"
    path.write_bytes(rebuilt)
    assert aot.load(path).instantiate().exports.f0(7) == _reference(7, _edited)


def _with_custom_section(wasm: bytes, name: bytes, payload: bytes) -> bytes:
    body = bytes([len(name)]) + name + payload
    assert len(body) < 128
    return wasm + bytes([0, len(body)]) + body


# Edits of the module, each with whether the rebuild may take every function's unit from
# the cache (True), or must compile them all again (False), or some (None).
EDITS = {
    "a constant in one body": (lambda: wat(_many_functions(factor=_edited)), None),
    "one body grown": (lambda: wat(_many_functions(padding=lambda i: 5 * (i == 7))), None),
    "a call across units": (lambda: wat(_many_functions(
        extra=lambda i: "(drop (call $f40 (i32.const 0)))" if i == 3 else "")), None),
    "the data's bytes": (lambda: wat(_many_functions(data="\\05\\06\\07\\08")), True),
    "the data's length": (lambda: wat(_many_functions(data="\\01\\02\\03\\04\\05")), False),
    "a function's name": (lambda: wat(_many_functions(name=lambda i: f"g{i}" if i == 9 else f"f{i}")), False),
    "an export's name": (lambda: wat(_many_functions(export=lambda i: f"e{i}")), False),
    "a custom section": (lambda: _with_custom_section(wat(_many_functions()), b"notes", b"v2"), True),
}


@pytest.mark.parametrize("opt_level", [0, 2])
@pytest.mark.parametrize("edit", EDITS)
def test_a_rebuild_makes_the_artifact_a_clean_compile_makes(small_units, tmp_path, many,
                                                            monkeypatch, opt_level, edit):
    """Units are found by their inputs (`aot.codegen.unitcache.source_keys`): after each
    kind of edit, what the cache gives is what compiling without it makes, and the
    units it takes are neither translated nor compiled (the rebuild's others are
    compiled by worker processes, the first build's in this one)."""
    monkeypatch.setattr(pipeline, "PARALLEL_MIN_CODE_BYTES", 0)
    make, all_cached = EDITS[edit]
    options = CompileOptions(opt_level=opt_level)
    first = CompileProfile()
    aot.compiler.compile_artifact(many, options, jobs=1, profile=first, cache=tmp_path)
    assert first.units_translated == first.units
    edited = make()
    again = CompileProfile()
    rebuilt = aot.compiler.compile_artifact(edited, options, jobs=2, profile=again, cache=tmp_path)
    assert again.jobs == 2 or again.units_translated <= 1
    assert rebuilt == aot.compiler.compile_artifact(edited, options, jobs=1)
    if all_cached is True:  # the runtime unit too: nothing it reads changed
        assert again.units_translated == 0 and again.functions_compiled == 0
    elif all_cached is False:
        assert again.units_translated == again.units and again.functions_compiled == N_FUNCS
    else:
        # The edited unit, a neighbour whose boundary moved, a callee that becomes
        # shared (called from another unit), and the runtime unit, at most.
        assert 0 < again.units_translated <= 4 < again.units - 1
    path = tmp_path / "edited.so"
    path.write_bytes(rebuilt)
    exports = aot.load(path).instantiate().exports
    call = exports.f0 if hasattr(exports, "f0") else exports.e0
    factor = _edited if edit == "a constant in one body" else (lambda i: i + 3)
    assert call(7) == _reference(7, factor)
    data = b"\5\6\7\x08" if edit == "the data's bytes" else b"\1\2\3\4"
    assert exports.memory.read(64, 4) == data


# Edits the runtime unit (entries, trampolines, aot_init, the vtable) may see.
RUNTIME_EDITS = {
    **{name: make for name, (make, _) in EDITS.items()},
    "memory grown": lambda: wat(_many_functions().replace('(memory (export "memory") 1)',
                                                          '(memory (export "memory") 2)')),
    "a global exported": lambda: wat(_many_functions().replace(
        "(data $seg", '(global $g (mut i32) (i32.const 5)) (export "g" (global $g)) (data $seg')),
    "a function in a table": lambda: wat(_many_functions().replace(
        "(data $seg", "(table 2 funcref) (elem (i32.const 0) func $f3) (data $seg")),
    "the data zeroed": lambda: wat(_many_functions(data="\\00\\00\\00\\00")),
    "one function unexported": lambda: wat(_many_functions().replace(
        '(func $f5 (export "f5")', "(func $f5")),
}


def _runtime_unit(wasm: bytes, opt_level: int, count: int | None = None) -> tuple[str, str]:
    """(key by its inputs, IR text) of the runtime unit of `wasm` split into `count`
    units (None: the automatic split)."""
    from aot.codegen import fingerprint
    from aot.codegen.emit import host_triple, target_machine
    from aot.codegen.translate import artifact_blobs, blob_sizes, translate_unit
    from aot.codegen.unitcache import source_keys

    options = CompileOptions(opt_level=opt_level)
    module = parse(wasm)
    plan = plan_units(module, count, per_function=units.function_grain(opt_level))
    sizes = blob_sizes(artifact_blobs(module))
    key = source_keys(fingerprint(options).to_json(), wasm, module, plan, sizes)[-1]
    text = translate_unit(module, options, host_triple(), str(target_machine(options).target_data),
                          plan, plan.runtime_unit, sizes)
    return key, text


@pytest.mark.parametrize("opt_level, count", [(0, None), (2, None), (2, 2)])
def test_the_runtime_units_key_changes_whenever_its_ir_does(small_units, many, opt_level,
                                                            count):
    """The runtime unit is found in the cache by its inputs, not its IR: an edit that
    changes its IR must change its key (else a rebuild would link a stale one).  Split
    into 2 units, it holds half the functions too (as in the spec suite's runs)."""
    key, text = _runtime_unit(many, opt_level, count)
    changed = []
    for name, make in RUNTIME_EDITS.items():
        edited_key, edited_text = _runtime_unit(make(), opt_level, count)
        if edited_text != text:
            changed.append(name)
            assert edited_key != key, f"{name}: the runtime unit's IR changed, not its key"
    expected = {"the data's length", "a global exported", "a function in a table",
                "one function unexported"}
    if count == 2:  # the edited body is in the last unit, and the new callee
        expected |= {"a constant in one body", "a call across units"}
    assert set(changed) == expected
    # Data bytes are not in the key (they reach the artifact as blobs), but the sizes of
    # the memory image's runs, which follow the zero pages in them, are (the vtable
    # records them): an active segment with a zero page in its middle, then without.
    page = 65536

    def active(middle: str) -> bytes:
        data = "\\01" * page + middle * page + "\\01" * page
        return wat(_many_functions().replace(
            '(memory (export "memory") 1) (data $seg',
            f'(memory (export "memory") 4) (data (i32.const 0) "{data}") (data $seg'))

    (k1, t1), (k2, t2) = (_runtime_unit(active(fill), opt_level, count) for fill in ("\\00", "\\01"))
    assert t1 != t2 and k1 != k2


def test_a_damaged_unit_object_is_compiled_again(small_units, tmp_path, many):
    options = CompileOptions(opt_level=0)
    clean = aot.compiler.compile_artifact(many, options, jobs=1, cache=tmp_path)
    cache = aot.cache.Cache(tmp_path)
    objects = [e for e in cache.entries() if e.kind == "unit"]
    assert len(objects) == plan_units(parse(many), per_function=True).count == N_FUNCS + 1
    data = bytearray(objects[0].path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    objects[0].path.write_bytes(bytes(data))
    profile = CompileProfile()
    assert aot.compiler.compile_artifact(many, options, jobs=1, profile=profile,
                                         cache=tmp_path) == clean
    assert profile.units_cached == len(objects) - 1


def test_aot_compile_reuses_units_unless_told_not_to(small_units, tmp_path, many, capsys):
    from aot.cli import main

    src = tmp_path / "m.wasm"
    src.write_bytes(many)
    cache_dir = tmp_path / "cache"
    args = ["compile", str(src), "-o", str(tmp_path / "m.so"), "-O0", "-j1", "--time", "-q"]
    env = {"AOT_CACHE_DIR": str(cache_dir)}
    with pytest.MonkeyPatch.context() as mp:
        for k, v in env.items():
            mp.setenv(k, v)
        assert main([*args, "--no-cache"]) == 0
        assert not cache_dir.exists()
        assert main(args) == 0
        assert main(args) == 0
    assert "from the cache" in capsys.readouterr().err
    assert main(["cache", "info", "--dir", str(cache_dir)]) == 0
    assert "codegen units, 1 module marks)" in capsys.readouterr().out


@pytest.mark.parametrize("opt_level", [0, 2])
def test_units_link_into_one_working_artifact(many, tmp_path, opt_level):
    single = aot.compiler.compile_artifact(many, CompileOptions(opt_level=opt_level))
    split = aot.compiler.compile_artifact(many, CompileOptions(opt_level=opt_level, codegen_units=5),
                                          jobs=1)
    assert split != single
    for data in (single, split):
        path = tmp_path / "m.so"
        path.write_bytes(data)
        exports = aot.load(path).instantiate().exports
        for x in (0, 7, -5, 123456):
            assert exports.f0(x) == _reference(x)
        assert exports.memory.read(64 * (N_FUNCS - 1), 4) == b"\x01\x02\x03\x04"


@pytest.mark.parametrize(("opt_level", "count"), [(2, 4), (0, "function")])
def test_the_artifact_does_not_depend_on_the_number_of_jobs(many, monkeypatch, opt_level, count):
    monkeypatch.setattr(pipeline, "PARALLEL_MIN_CODE_BYTES", 0)  # workers even for this size
    options = CompileOptions(opt_level=opt_level, codegen_units=count)
    profiles = {}
    artifacts = {}
    for jobs in (1, 4):
        profiles[jobs] = CompileProfile()
        artifacts[jobs] = aot.compiler.compile_artifact(many, options, jobs=jobs,
                                                        profile=profiles[jobs])
    assert artifacts[1] == artifacts[4]
    assert (profiles[1].jobs, profiles[4].jobs) == (1, 4)
    assert profiles[4].seconds["decode"] > 0  # the workers decoded the module themselves


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_module_parsed_without_its_bodies_compiles_to_the_same_artifact(many, monkeypatch,
                                                                         jobs):
    """compile_artifact parses without keeping the bodies (each checked as decoded, then
    dropped): the units decode their own, in this process or in workers, and the
    artifact is the one compiled from a module with every body kept."""
    monkeypatch.setattr(pipeline, "PARALLEL_MIN_CODE_BYTES", 0)
    options = CompileOptions(opt_level=0, codegen_units=3)
    lean = parse(many, keep_bodies=False)
    assert all(not body.code for body in lean.codes)
    artifact = pipeline.compile_module(lean, options, wasm=many, jobs=jobs)
    assert all(not body.code for body in lean.codes)  # put back as they were
    assert pipeline.compile_module(parse(many), options, jobs=1) == artifact
    with pytest.raises(ValueError, match="its bytes are needed"):
        pipeline.compile_module(lean, options, jobs=1)


def test_progress_counts_every_function_once(many, monkeypatch):
    monkeypatch.setattr(pipeline, "PARALLEL_MIN_CODE_BYTES", 0)
    seen = []
    aot.compiler.compile_artifact(many, CompileOptions(opt_level=0, codegen_units=3), jobs=2,
                                  progress=lambda *a: seen.append(a))
    compile_steps = [s for s in seen if s[4] == "compile"]
    assert [s[0] for s in compile_steps] == [0, 1, 2, 3]
    assert compile_steps[-1][2:4] == (N_FUNCS, N_FUNCS)
    assert seen[-1][4] == "link"


def test_compile_errors_survive_the_trip_from_a_worker():
    """A worker sends the error it raised pickled: type, sentence and place survive."""
    import pickle

    err = CompileError("boom", 0x2A, 3)
    again = pickle.loads(pickle.dumps(err))
    assert (type(again), str(again), again.offset, again.func_index) == (
        CompileError, str(err), 0x2A, 3)
    nse = aot.NotSupportedError("SIMD (x)", 5, 1)
    assert str(pickle.loads(pickle.dumps(nse))) == str(nse)


BIG_MEMORY = """(module
  (memory (export "memory") 300)
  (data (i32.const 1024) "head")
  (data (i32.const 16777216) "far above a 16 MiB stack")
  (data (i32.const 16781312) "\\00\\00\\00\\00")
  (func (export "peek") (param i32) (result i32) (i32.load8_u (local.get 0))))"""


def _sections(data: bytes) -> dict[str, int]:
    elf = ELFFile(io.BytesIO(data))
    return {s.name: s["sh_size"] for s in elf.iter_sections()}


def test_a_sparse_memory_image_stores_only_non_zero_pages(tmp_path):
    data = aot.compiler.compile_artifact(wat(BIG_MEMORY))
    # Two pages of data (and no page for the all-zero segment), not 16 MiB.
    assert len(data) < 64 * 1024
    path = tmp_path / "big.so"
    path.write_bytes(data)
    module = aot.load(path)
    for _ in range(2):  # the second instance reuses the first one's reservation
        exports = module.instantiate().exports
        mem = exports.memory
        assert mem.read(1024, 4) == b"head"
        assert mem.read(16777216, 24) == b"far above a 16 MiB stack"
        assert mem.read(16777216 + 24, 4096) == bytes(4096)
        assert mem.read(8 * 1024 * 1024, 16) == bytes(16)  # between the runs: zeros
        assert exports.peek(16777216) == ord("f")
        mem.write(16777216, b"F")
        mem.write(2 * 1024 * 1024, b"x")


@pytest.mark.parametrize("damage", ["misaligned", "overlapping", "too long"])
def test_a_damaged_run_table_is_refused_even_with_a_matching_checksum(tmp_path, damage):
    """The loader checks the runs against the image before mapping anything (a CRC
    recomputed over damaged bytes must not let a bad table through)."""
    import struct
    import zlib

    data = bytearray(aot.compiler.compile_artifact(wat(BIG_MEMORY)))
    elf = ELFFile(io.BytesIO(bytes(data)))
    runs = next(s for s in elf.get_section_by_name(".symtab").iter_symbols()
                if s.name == "aot_memory_image_runs")
    sec = elf.get_section(runs["st_shndx"])
    at = sec["sh_offset"] + runs["st_value"] - sec["sh_addr"]
    first, second = struct.unpack_from("<QQ", data, at), struct.unpack_from("<QQ", data, at + 16)
    assert first == (0, 4096) and second == (16 << 20, 4096)
    if damage == "misaligned":
        struct.pack_into("<Q", data, at, 100)
    elif damage == "overlapping":
        struct.pack_into("<Q", data, at + 16, 0)
    else:
        struct.pack_into("<Q", data, at + 24, 3 * 4096)
    crc_at = len(data) - 12  # the trailer's CRC covers everything before it
    struct.pack_into("<I", data, crc_at, zlib.crc32(bytes(data[:crc_at])))
    path = tmp_path / "damaged.so"
    path.write_bytes(bytes(data))
    with pytest.raises(aot.ArtifactError, match="corrupt memory image run"):
        aot.load(path)


def test_bulk_data_never_reaches_llvm():
    from aot.codegen import compile_to_ir

    ir_text = compile_to_ir(parse(wat(BIG_MEMORY)), CompileOptions())
    assert "far above" not in ir_text and "c\"head" not in ir_text
    assert len(ir_text) < 200_000


@pytest.mark.parametrize(("units_arg", "count"), [("2", 2), ("function", N_FUNCS + 1)])
def test_aot_compile_prints_its_profile(tmp_path, many, units_arg, count):
    src = tmp_path / "many.wasm"
    src.write_bytes(many)
    out = tmp_path / "many.so"
    proc = subprocess.run([sys.executable, "-m", "aot.cli", "compile", str(src), "-o", str(out),
                           "-O0", "--codegen-units", units_arg, "-j", "1", "--time", "-q",
                           "--no-cache"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    for phase in ("decode", "plan", "ir", "optimize", "emit", "link", "total"):
        assert phase in proc.stderr
    assert f"({count} units" in proc.stderr
    assert aot.load(out).instantiate().exports.f0(1) == _reference(1)


@pytest.mark.parametrize("args", [["-j", "0"], ["--codegen-units", "each"]])
def test_bad_job_and_unit_counts_are_usage_errors(tmp_path, many, args):
    src = tmp_path / "many.wasm"
    src.write_bytes(many)
    proc = subprocess.run([sys.executable, "-m", "aot.cli", "compile", str(src), *args],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "positive integer" in proc.stderr


@pytest.mark.parametrize("jobs", [0, -1, 1.5, True])
def test_a_job_count_that_is_not_a_positive_integer_is_refused(many, jobs):
    with pytest.raises(ValueError, match="jobs must be a positive integer"):
        aot.compiler.compile_artifact(many, jobs=jobs)


def _children() -> set[int]:
    import pathlib

    pids: set[int] = set()
    for task in pathlib.Path("/proc/self/task").iterdir():
        try:
            pids.update(int(pid) for pid in (task / "children").read_text().split())
        except FileNotFoundError:  # a thread that ended meanwhile
            continue
    return pids


def test_workers_start_before_decoding_unless_the_cache_has_seen_the_module(small_units, many,
                                                                           tmp_path, monkeypatch):
    """A first compile starts its workers before decoding (their start-up overlaps
    it); a rebuild, whose module environment the cache has seen, does not: it finds
    most units there, and starts workers only if it needs them after all."""
    monkeypatch.setattr(pipeline, "PARALLEL_MIN_CODE_BYTES", 0)
    started = []
    real = pipeline.Workers.__init__

    def spy(self, wasm, options, count):
        started.append(count)
        real(self, wasm, options, count)

    monkeypatch.setattr(pipeline.Workers, "__init__", spy)
    options = CompileOptions(opt_level=0)
    aot.compiler.compile_artifact(many, options, jobs=2, cache=tmp_path)
    assert started == [2]  # early, and used
    started.clear()
    edited = wat(_many_functions(factor=_edited))
    rebuilt = aot.compiler.compile_artifact(edited, options, jobs=2, cache=tmp_path)
    assert started == [0]  # none early; one unit to compile: none at all
    assert rebuilt == aot.compiler.compile_artifact(edited, options, jobs=1)
    started.clear()
    other = wat(_many_functions(export=lambda i: f"e{i}"))  # another environment
    aot.compiler.compile_artifact(other, options, jobs=2, cache=tmp_path)
    assert started[0] == 2
    marks = [e for e in aot.cache.Cache(tmp_path).entries() if e.kind == "mark"]
    assert len(marks) == 2  # one per environment; `aot cache clear` and prune take them
    aot.cache.Cache(tmp_path).clear()
    started.clear()
    aot.compiler.compile_artifact(edited, options, jobs=2, cache=tmp_path)
    assert started[0] == 2


def test_workers_get_the_runtime_unit_first_then_the_largest(small_units, many, monkeypatch):
    """The runtime unit's size counts only its functions, yet its entries, trampolines
    and aot_init make it one of the longest jobs: sent last, it kept a core idle."""
    import queue

    monkeypatch.setattr(pipeline, "PARALLEL_MIN_CODE_BYTES", 0)
    queued: list[int] = []  # the order the workers take units in

    class Recording(queue.SimpleQueue):
        def put(self, item, block=True, timeout=None):
            queued.append(item)
            super().put(item, block, timeout)

    monkeypatch.setattr(queue, "SimpleQueue", Recording)
    profile = CompileProfile()
    aot.compiler.compile_artifact(many, CompileOptions(opt_level=2), jobs=2, profile=profile)
    assert profile.jobs == 2  # the workers compiled it
    plan = plan_units(parse(many))
    assert sorted(queued) == list(range(plan.count)) and plan.count > 2
    assert queued[0] == plan.runtime_unit
    sizes = [plan.unit_sizes[k] for k in queued[1:]]
    assert sizes == sorted(sizes, reverse=True)


def test_a_rebuild_checks_only_the_bodies_it_has_not_seen(small_units, tmp_path, many,
                                                          monkeypatch):
    """A compile's mark holds what it learnt of each body (by the body's bytes): a
    rebuild of a module with the same environment neither decodes nor validates again
    the bodies the mark knows."""
    checked = checked_bodies(monkeypatch)
    options = CompileOptions(opt_level=0)
    aot.compiler.compile_artifact(many, options, jobs=1, cache=tmp_path)
    assert sorted(checked) == list(range(N_FUNCS))
    checked.clear()
    edited = wat(_many_functions(factor=_edited))
    profile = CompileProfile()
    rebuilt = aot.compiler.compile_artifact(edited, options, jobs=1, cache=tmp_path,
                                            profile=profile)
    assert checked == [N_FUNCS // 2] and profile.functions_compiled == 1
    assert rebuilt == aot.compiler.compile_artifact(edited, options, jobs=1)


def test_a_body_seen_valid_is_checked_again_in_another_environment(small_units, tmp_path):
    """The same bytes of body 0 (a call of function 1) are invalid where function 1
    returns another type: the mark of the first module must not vouch for them."""
    text = "(module (func (result i32) (call 1)) (func (result {0}) ({0}.const 1)))"
    aot.compiler.compile_artifact(wat(text.format("i32")), CompileOptions(opt_level=0),
                                  jobs=1, cache=tmp_path)
    assert any(e.kind == "mark" for e in aot.cache.Cache(tmp_path).entries())
    with pytest.raises(CompileError, match="type mismatch") as info:
        aot.compiler.compile_artifact(wat(text.format("i64")), CompileOptions(opt_level=0),
                                      jobs=1, cache=tmp_path)
    assert info.value.func_index == 0


@pytest.mark.parametrize("damage", ["a flipped byte", "another format"])
def test_a_damaged_mark_is_not_believed(small_units, tmp_path, many, monkeypatch, damage):
    options = CompileOptions(opt_level=0)
    clean = aot.compiler.compile_artifact(many, options, jobs=1, cache=tmp_path)
    cache = aot.cache.Cache(tmp_path)
    (mark,) = [e for e in cache.entries() if e.kind == "mark"]
    if damage == "a flipped byte":  # its SHA-256 no longer matches
        data = bytearray(mark.path.read_bytes())
        data[len(data) // 2] ^= 0x01
        mark.path.write_bytes(bytes(data))
    else:  # intact, but not a record of body facts this aot reads
        cache.put_mark(mark.key, b'{"format": "aot body facts 0", "bodies": {}}')
    checked = checked_bodies(monkeypatch)
    assert aot.compiler.compile_artifact(many, options, jobs=1, cache=tmp_path) == clean
    assert sorted(checked) == list(range(N_FUNCS))  # all checked, as in a first compile
    checked.clear()
    aot.compiler.compile_artifact(many, options, jobs=1, cache=tmp_path)
    assert checked == []  # the mark was written again, whole


def test_an_invalid_module_ends_the_workers_started_for_it():
    """Workers start before the module is validated (their start-up overlaps it): an
    invalid module is refused as ever, and they are gone when the error is raised."""
    body = "(drop (i32.const 1)) " * 24000  # 72 KB of code: compiled by workers
    bad = wat(f"(module (func {body}) (func (result i32) (i64.const 0)))")
    assert len(bad) >= pipeline.PARALLEL_MIN_CODE_BYTES
    before = _children()
    with pytest.raises(CompileError, match="type mismatch") as info:
        aot.compiler.compile_artifact(bad, CompileOptions(opt_level=0), jobs=2)
    assert "function 1" in str(info.value)
    assert _children() <= before
