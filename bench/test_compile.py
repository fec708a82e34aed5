"""Compile time of real C programs (bench/modules/, built from Debian's sources by
bench/modules/build.sh): the SQLite shell (~1 MB of wasm), the Lua 5.4 interpreter, and
zlib's minigzip laid out with a 16 MiB stack first ("bigmem": 257 pages of initial
memory, its data above 16 MiB).

Per module: aot at -O2 (the default), -O1 and -O0 (the fast mode), `aot.compile_artifact`
with the default, portable `CompileOptions` (no cache involved), and wasmtime-py's
`wasmtime.Module(engine, wasm)` with a fresh Engine each round (wasmtime's code cache is
off unless a Config enables it; none here does).

Each aot compile runs in a fresh process, which reports the compile's wall time and CPU
time (its threads and the worker processes it waits for: `cpu/wall` near 2 means both
cores busy).  Peak RSS is the larger of the largest process's peak (the compiling
process's VmHWM, its workers' `ru_maxrss`) and the summed RSS of its process tree,
sampled every 50 ms (workers' memory adds up; the first is a per-process maximum).
That sum counts the pages the processes share (the LLVM library, Python's) once per
process; the tree's summed PSS (read as the RSS grows, and every second: it is costly
to read) counts each page once and is the memory the compile takes from the machine.
Interpreter start, imports and exit are outside the compile figure; the benchmark's own
time for the round includes them (`process_s`: the exit collects the compile's cyclic
garbage, when it leaves any).

A development loop's rebuild, at -O2 and -O0: the module compiled once into an empty
unit cache, then one function edited (two operands of a commutative operator swapped:
new code, same output) and compiled again with that cache (`rebuild_bench`); wasmtime-py
has no such cache, so its figure is its full compile.

The artifact of every aot compile, and the module wasmtime compiled, are run once (WASI,
fixed arguments) and their output checked, outside the timed region.

    AOT_BENCH_COMPILE_MODULES=lua,bigmem pytest bench/test_compile.py   # a subset

The summary table is printed at the end of the session and kept in
bench/results/compile.json (rows merged by module: a run of a subset keeps the others)."""

from __future__ import annotations

import gzip
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pytest
import wasmtime

import aot
from aot.wasm.opcodes import LOCAL_GET, OPCODES_BY_NAME

ROOT = Path(__file__).resolve().parent.parent
MODULE_DIR = ROOT / "bench" / "modules"
RESULTS_JSON = ROOT / "bench" / "results" / "compile.json"

SQL = ("create table t(a integer primary key, b text);"
       " insert into t(b) select printf('row%03d', value) from generate_series(1, 500);"
       " select count(*), sum(a), max(b) from t where a % 7 = 3;"
       " with recursive c(x) as (select 1 union all select x + 1 from c where x < 1000)"
       " select sum(x * x), printf('%.4f', avg(x) / 3.0) from c;"
       " select json_object('v', sqlite_version(), 'n', json_array(1, 2.5, 'three'));")
LUA = ("local t = {} for i = 1, 1000 do t[i] = (i * 7919) % 1009 end table.sort(t)"
       " local function fib(n) if n < 2 then return n end return fib(n - 1) + fib(n - 2) end"
       " print(t[1], t[500], t[1000], fib(20), string.format('%.6f', math.sqrt(2)),"
       " ('ab'):rep(3), _VERSION)")
GZIP_INPUT = b"".join(b"%d: the quick brown fox jumps over the lazy dog %x\n" % (i, i * i)
                      for i in range(4000))


@dataclass(frozen=True)
class Program:
    args: list[str]
    stdin: bytes = b""
    expect: bytes | None = None  # the exact stdout, or None: `gunzip(stdout) == stdin`

    def check(self, stdout: bytes) -> None:
        if self.expect is not None:
            assert stdout == self.expect
        else:
            assert gzip.decompress(stdout) == self.stdin


PROGRAMS = {
    "sqlite3": Program(["sqlite3", ":memory:", SQL],
                       expect=b'72|18108|row500\n333833500|166.8333\n'
                              b'{"v":"3.40.1","n":[1,2.5,"three"]}\n'),
    "lua": Program(["lua", "-e", LUA], expect=b"1\t505\t1008\t6765\t1.414214\tababab\tLua 5.4\n"),
    "bigmem": Program(["minigzip"], stdin=GZIP_INPUT),
}


def selected_modules() -> set[str]:
    names = os.environ.get("AOT_BENCH_COMPILE_MODULES", "").replace(" ", "")
    if not names:
        return set(PROGRAMS)
    chosen = set(names.split(","))
    if chosen - set(PROGRAMS):
        raise ValueError(f"AOT_BENCH_COMPILE_MODULES: unknown {sorted(chosen - set(PROGRAMS))}; "
                         f"the modules are {', '.join(PROGRAMS)}")
    return chosen


SELECTED = selected_modules()


def only_selected(name: str):
    """Skip a module's tests, as a mark (no benchmark fixture is set up for a skipped
    test: a benchmark without rounds would upset the summaries)."""
    path = MODULE_DIR / f"{name}.wasm"
    return pytest.mark.skipif(
        name not in SELECTED or not path.exists(),
        reason="not in AOT_BENCH_COMPILE_MODULES" if name not in SELECTED
        else f"{path.relative_to(ROOT)} missing: run bench/modules/build.sh")


# --- running the programs once, to check what was compiled --------------------------------

def run_aot(artifact: Path, program: Program) -> bytes:
    config = aot.WasiConfig(args=program.args, stdin=program.stdin, stdout="capture",
                            stderr="capture")
    with aot.WasiCtx(config) as wasi:
        code = wasi.run(aot.load(artifact))
        assert code == 0, wasi.stderr.decode(errors="replace")
        return wasi.stdout


def run_wasmtime(engine: wasmtime.Engine, module: wasmtime.Module, program: Program,
                 tmp: Path) -> bytes:
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    store = wasmtime.Store(engine)
    config = wasmtime.WasiConfig()
    config.argv = program.args
    (tmp / "stdin").write_bytes(program.stdin)
    config.stdin_file = str(tmp / "stdin")
    config.stdout_file = str(tmp / "stdout")
    store.set_wasi(config)
    try:
        linker.instantiate(store, module).exports(store)["_start"](store)
    except wasmtime.ExitTrap as exc:
        assert exc.code == 0
    del store  # closes the output file
    return (tmp / "stdout").read_bytes()


# --- aot, in a child process ------------------------------------------------------------

CHILD = r"""
import json, resource, sys, time
from aot.codegen import CompileOptions, CompileProfile
from aot.codegen.pipeline import peak_rss_mb
from aot.compiler import compile_artifact
import aot.wasm  # the compiler's imports happen before the clock starts

def usage():
    # The peak: this process's VmHWM (spawned with vfork, its ru_maxrss would start at
    # the benchmark's own peak) or its workers'.
    own, kids = (resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return (own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime,
            int(peak_rss_mb() * 1024))

wasm, opt_level, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
cache = sys.argv[4] if len(sys.argv) > 4 else False  # a folder: the unit cache
data = open(wasm, "rb").read()
options = CompileOptions(opt_level=opt_level)
profile = CompileProfile()
cpu0, rss0 = usage()
t0 = time.perf_counter()
artifact = compile_artifact(data, options, cache=cache, profile=profile)
wall = time.perf_counter() - t0
cpu1, rss1 = usage()
open(out, "wb").write(artifact)
print(json.dumps({"wall": wall, "cpu": cpu1 - cpu0, "peak_rss_kb": rss1, "rss_before_kb": rss0,
                  "functions_compiled": profile.functions_compiled,
                  "phases_cpu": profile.seconds, "jobs": profile.jobs}))
"""


def _children(pid: int) -> list[int]:
    """The child processes of `pid`, from each of its threads' `children` list (Linux)."""
    kids: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:  # gone meanwhile
        return kids
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children") as f:
                kids.extend(int(k) for k in f.read().split())
        except OSError:  # a thread that ended meanwhile
            continue
    return kids


def tree_memory_kb(root: int, pss: bool = True) -> tuple[int, int]:
    """The resident memory of process `root` and all its descendants (Linux /proc), KiB:
    summed RSS, and summed PSS when `pss` (else, or where /proc/PID/smaps_rollup is
    missing, 0).  PSS costs ~3 ms a process (the kernel walks its page tables)."""
    page_kb = os.sysconf("SC_PAGE_SIZE") // 1024
    rss = pss_kb = 0
    todo = [root]
    while todo:
        pid = todo.pop()
        try:
            with open(f"/proc/{pid}/statm") as f:
                rss += int(f.read().split()[1]) * page_kb
            if pss:
                with open(f"/proc/{pid}/smaps_rollup") as f:
                    pss_kb += next((int(line.split()[1]) for line in f
                                    if line.startswith("Pss:")), 0)
        except OSError:  # gone meanwhile, or no smaps_rollup
            pass
        todo.extend(_children(pid))
    return rss, pss_kb


def compile_in_child(wasm: Path, opt_level: int, out: Path, cache: Path | None = None) -> dict:
    """Compile in a new process (with the unit cache in folder `cache`, if given); its
    report, plus the whole process's time and CPU and the peak of its process tree's
    summed RSS (sampled every 50 ms: a compile spread over worker processes counts all
    of them), and of its summed PSS (read as the RSS grows, and every second)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    args = [str(wasm), str(opt_level), str(out), *([str(cache)] if cache else [])]
    with tempfile.TemporaryFile() as stdout, tempfile.TemporaryFile() as stderr:
        proc = subprocess.Popen([sys.executable, "-c", CHILD, *args],
                                cwd=ROOT, stdout=stdout, stderr=stderr)
        tree_peak = tree_pss_peak = samples = pss_read_at = 0
        while os.path.isdir("/proc") and proc.poll() is None:
            # PSS (costly to read: it would take a fifth of a core every 50 ms) once the
            # RSS has grown 2 % past where PSS was last read, and every second.
            rss, _ = tree_memory_kb(proc.pid, pss=False)
            if rss > pss_read_at * 1.02 or samples % 20 == 0:
                _, pss = tree_memory_kb(proc.pid)
                tree_pss_peak, pss_read_at = max(tree_pss_peak, pss), max(pss_read_at, rss)
            tree_peak = max(tree_peak, rss)
            samples += 1
            time.sleep(0.05)
        proc.wait()
        stdout.seek(0)
        stderr.seek(0)
        output, errors = stdout.read().decode(), stderr.read().decode(errors="replace")
    elapsed = time.perf_counter() - t0
    assert proc.returncode == 0, errors
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    report = json.loads(output.splitlines()[-1])
    report["process_s"] = elapsed
    report["process_cpu_s"] = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    report["tree_peak_rss_kb"] = tree_peak
    report["tree_peak_pss_kb"] = tree_pss_peak
    return report


def llvm_only_s(phases: dict[str, float], jobs: int) -> float:
    """The wall time LLVM's own work takes at best: the units' CPU time in LLVM
    (parsing, verifying and optimizing the IR; selecting instructions and emitting) spread
    evenly over the jobs, as if translating to IR, decoding and linking took nothing.
    No Python-side change can bring a compile under it."""
    return (phases["optimize"] + phases["emit"]) / max(jobs, 1)


def code_bytes(artifact: bytes) -> int:
    """Bytes of machine code in an artifact: its executable sections (.text)."""
    from elftools.elf.constants import SH_FLAGS
    from elftools.elf.elffile import ELFFile

    elf = ELFFile(io.BytesIO(artifact))
    return sum(s["sh_size"] for s in elf.iter_sections()
               if s["sh_flags"] & SH_FLAGS.SHF_EXECINSTR and s["sh_type"] != "SHT_NOBITS")


# --- the summary ----------------------------------------------------------------------

ROWS: dict[str, dict] = {}  # module -> the table's figures, filled by the tests


class Summary:
    """Prints the table at the end of the session and merges it into compile.json."""

    COLUMNS = [("module", "module", "{}"), ("wasm KB", "wasm_kb", "{:,.0f}"),
               ("wasmtime s", "wasmtime_s", "{:.2f}"), ("aot -O2 s", "aot_o2_s", "{:.1f}"),
               ("ratio", "o2_ratio", "{:.1f}x"), ("aot -O1 s", "aot_o1_s", "{:.1f}"),
               ("ratio", "o1_ratio", "{:.1f}x"), ("aot -O0 s", "aot_o0_s", "{:.1f}"),
               ("ratio", "o0_ratio", "{:.1f}x"),
               ("LLVM alone -O2", "o2_llvm_only_ratio", "{:.1f}x"),
               ("LLVM alone -O0", "o0_llvm_only_ratio", "{:.1f}x"),
               ("-O2 rebuild s", "aot_o2_rebuild_s", "{:.2f}"), ("ratio", "o2_rebuild_ratio", "{:.1f}x"),
               ("-O0 rebuild s", "aot_o0_rebuild_s", "{:.2f}"), ("ratio", "o0_rebuild_ratio", "{:.1f}x"),
               ("peak RSS MB", "peak_rss_mb", "{:,.0f}"),
               ("PSS MB", "peak_pss_mb", "{:,.0f}"),
               ("cpu/wall", "cpu_per_wall", "{:.2f}"), ("artifact KB", "artifact_kb", "{:,.0f}"),
               ("(wasm+code) KB", "wasm_plus_code_kb", "{:,.0f}")]

    @staticmethod
    def finish(row: dict) -> dict:
        wt = row.get("wasmtime_s")
        for opt in ("o2", "o1", "o0", "o2_rebuild", "o0_rebuild"):
            if wt and f"aot_{opt}_s" in row:
                row[f"{opt}_ratio"] = row[f"aot_{opt}_s"] / wt
        for level in ("O2", "O1", "O0"):
            figures = row.get("aot", {}).get(level, {})
            if wt and "llvm_only_s" in figures:
                row[f"{level.lower()}_llvm_only_ratio"] = figures["llvm_only_s"] / wt
        o2 = row.get("aot", {}).get("O2")
        if o2:  # the default compile's memory, CPU and artifact; the others' are in "aot"
            row["peak_rss_mb"] = o2["peak_rss_mb"]
            row["peak_pss_mb"] = o2.get("tree_peak_pss_mb")
            row["cpu_per_wall"] = o2["cpu_per_wall"]
            row["artifact_kb"] = o2["artifact_bytes"] / 1024
            row["wasm_plus_code_kb"] = (row["wasm_bytes"] + o2["code_bytes"]) / 1024
        return row

    def table(self, rows: list[dict]) -> list[str]:
        cells = [[name for name, _, _ in self.COLUMNS]]
        for row in rows:
            cells.append([fmt.format(row[key]) if row.get(key) is not None else "-"
                          for _, key, fmt in self.COLUMNS])
        widths = [max(len(r[i]) for r in cells) for i in range(len(self.COLUMNS))]
        lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                           for i, (c, w) in enumerate(zip(r, widths))) for r in cells]
        return [lines[0], "  ".join("-" * w for w in widths), *lines[1:]]

    def pytest_terminal_summary(self, terminalreporter, config):
        if not ROWS:
            return
        rows = [self.finish(ROWS[name]) for name in PROGRAMS if name in ROWS]
        tr = terminalreporter
        tr.section("compile time: real C programs (aot: -O2 figures for RSS, cpu/wall, artifact)")
        for line in self.table(rows):
            tr.write_line(line)
        tr.write_line("ratio: aot's compile time over wasmtime-py's (whose every compile is a "
                      "full one); rebuild: after one function's edit, with the unit cache of "
                      "the first build; LLVM alone: the least wall time LLVM's own "
                      "work (parse, optimize, emit: the units' CPU time over the jobs) "
                      "allows, over wasmtime-py's; peak RSS: of the compiling "
                      "process and its workers, summed; PSS: the same with shared pages "
                      "counted once; (wasm+code): the wasm's size plus the artifact's "
                      "machine code")
        self.save(rows)
        tr.write_line(f"kept in {RESULTS_JSON.relative_to(ROOT)}")

    @staticmethod
    def save(rows: list[dict]) -> None:
        try:
            kept = json.loads(RESULTS_JSON.read_text())["modules"]
        except (OSError, ValueError, KeyError):
            kept = {}
        stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
        source = aot_source()
        for row in rows:
            kept[row["module"]] = {**row, "measured": stamp, "aot_source": source}
        data = {"about": "bench/test_compile.py: compile times of bench/modules/*.wasm",
                "aot_version": aot.__version__, "wasmtime_version": wasmtime_version(),
                "cpus": os.cpu_count(),
                "modules": {name: kept[name] for name in PROGRAMS if name in kept}}
        RESULTS_JSON.parent.mkdir(parents=True, exist_ok=True)
        RESULTS_JSON.write_text(json.dumps(data, indent=1) + "\n")


def aot_source() -> str | None:
    """The commit measured (`git describe --dirty`: "-dirty" for uncommitted changes)."""
    try:
        done = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=ROOT,
                              capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return done.stdout.strip() or None


def wasmtime_version() -> str:
    from importlib.metadata import version

    return version("wasmtime")


@pytest.fixture(scope="session", autouse=True)
def summary(request):
    plugin = request.config.pluginmanager.get_plugin("aot-compile-summary")
    if plugin is None:
        plugin = Summary()
        request.config.pluginmanager.register(plugin, "aot-compile-summary")
    return plugin


def row(name: str, data: bytes) -> dict:
    return ROWS.setdefault(name, {"module": name, "wasm_bytes": len(data),
                                  "wasm_kb": len(data) / 1024})


# --- the benchmarks -------------------------------------------------------------------

ENGINES = ["aot-O2", "aot-O1", "aot-O0", "aot-O2-rebuild", "aot-O0-rebuild", "wasmtime"]

# Commutative i32 operators: their two operands may be swapped without changing the program.
_COMMUTATIVE = frozenset(OPCODES_BY_NAME[f"i32.{op}"].code for op in ("add", "mul", "and", "or", "xor"))


def edited_module(data: bytes) -> tuple[bytes, int]:
    """The module with one function edited as a programmer's edit would (its code
    changes, not its size), yet the program's output does not: in the first function
    from the middle of the module on where `local.get a; local.get b; i32.add` (or another
    commutative operator) appears, the two `local.get`s swap places.  Also returns the
    function's index."""
    from aot.wasm.decoder import decode

    module = decode(data)
    first = module.num_imported_funcs
    n = len(module.codes)
    for k in [*range(n // 2, n), *range(n // 2)]:
        code = module.codes[k].code
        for a, b, op in zip(code, code[1:], code[2:]):
            if (a.op == b.op == LOCAL_GET and a.imm != b.imm and op.op in _COMMUTATIVE):
                edited = bytearray(data)
                x, y = data[a.offset:b.offset], data[b.offset:op.offset]
                edited[a.offset:op.offset] = y + x
                return bytes(edited), first + k
    raise AssertionError("no commutative operator on two locals in the module")


def compile_bench(benchmark, name: str, engine: str, tmp_path: Path) -> None:
    data = (MODULE_DIR / f"{name}.wasm").read_bytes()
    program = PROGRAMS[name]
    benchmark.group = f"compile: {name} ({len(data) // 1024} KiB wasm)"
    benchmark.extra_info["wasm_bytes"] = len(data)
    if engine == "wasmtime":
        wasmtime_bench(benchmark, name, data, program, tmp_path)
        return
    if engine.endswith("-rebuild"):
        rebuild_bench(benchmark, name, int(engine[5]), data, program, tmp_path)
        return
    opt_level = int(engine[-1])
    out = tmp_path / f"{name}-O{opt_level}.so"
    report = benchmark.pedantic(compile_in_child, args=(MODULE_DIR / f"{name}.wasm", opt_level, out),
                                rounds=1, iterations=1)
    artifact = out.read_bytes()
    figures = {"opt_level": opt_level, "compile_s": report["wall"], "cpu_s": report["cpu"],
               "cpu_per_wall": report["cpu"] / report["wall"],
               # the larger of the compiling process's own peak and its tree's sampled sum
               "peak_rss_mb": max(report["peak_rss_kb"], report["tree_peak_rss_kb"]) / 1024,
               "process_peak_rss_mb": report["peak_rss_kb"] / 1024,
               "tree_peak_rss_mb": report["tree_peak_rss_kb"] / 1024,
               "tree_peak_pss_mb": report["tree_peak_pss_kb"] / 1024,
               "rss_before_compile_mb": report["rss_before_kb"] / 1024,
               "process_s": report["process_s"], "process_cpu_s": report["process_cpu_s"],
               "artifact_bytes": len(artifact), "code_bytes": code_bytes(artifact),
               "phases_s": report["phases_cpu"], "jobs": report["jobs"],
               "llvm_only_s": llvm_only_s(report["phases_cpu"], report["jobs"])}
    benchmark.extra_info.update(figures)
    program.check(run_aot(out, program))  # the artifact works (not timed)
    entry = row(name, data)
    entry[f"aot_o{opt_level}_s"] = figures["compile_s"]
    entry.setdefault("aot", {})[f"O{opt_level}"] = figures


def rebuild_bench(benchmark, name: str, opt_level: int, data: bytes, program: Program,
                  tmp_path: Path) -> None:
    """A development loop's compile: the module built once into an empty unit cache
    (not timed), then one function edited (`edited_module`) and the module compiled
    again with that cache, in a fresh process (timed): what wasmtime-py's full compile
    is compared with."""
    cache = tmp_path / "cache"
    compile_in_child(MODULE_DIR / f"{name}.wasm", opt_level, tmp_path / "first.so", cache)
    edited, func = edited_module(data)
    source = tmp_path / f"{name}-edited.wasm"
    source.write_bytes(edited)
    out = tmp_path / f"{name}-O{opt_level}-rebuilt.so"
    report = benchmark.pedantic(compile_in_child, args=(source, opt_level, out, cache),
                                rounds=1, iterations=1)
    figures = {"opt_level": opt_level, "edited_function": func, "compile_s": report["wall"],
               "cpu_s": report["cpu"], "functions_compiled": report["functions_compiled"],
               "process_peak_rss_mb": report["peak_rss_kb"] / 1024,
               "process_s": report["process_s"]}
    benchmark.extra_info.update(figures)
    program.check(run_aot(out, program))  # the rebuilt artifact works (not timed)
    entry = row(name, data)
    entry[f"aot_o{opt_level}_rebuild_s"] = figures["compile_s"]
    entry.setdefault("aot", {})[f"O{opt_level} rebuild"] = figures


def wasmtime_bench(benchmark, name: str, data: bytes, program: Program, tmp_path: Path) -> None:
    wall: list[float] = []
    cpu: list[float] = []
    made: list[tuple[wasmtime.Engine, wasmtime.Module]] = []

    def setup():
        return (wasmtime.Engine(wasmtime.Config()),), {}  # a fresh engine: nothing cached

    def compile_module(engine):
        c0, t0 = time.process_time(), time.perf_counter()  # CPU: Cranelift's threads too
        module = wasmtime.Module(engine, data)
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        made.append((engine, module))

    benchmark.pedantic(compile_module, setup=setup, rounds=3, iterations=1)
    engine, module = made[-1]
    median = statistics.median(wall)  # as the benchmark's (also with --benchmark-disable)
    benchmark.extra_info.update({"cpu_per_wall": statistics.median(cpu) / median,
                                 "serialized_bytes": len(module.serialize())})
    program.check(run_wasmtime(engine, module, program, tmp_path))  # not timed
    entry = row(name, data)
    entry["wasmtime_s"] = median
    entry["wasmtime_cpu_per_wall"] = benchmark.extra_info["cpu_per_wall"]
    entry["wasmtime_serialized_kb"] = benchmark.extra_info["serialized_bytes"] / 1024


# One test per module, parametrized by engine: the group is the module, the engines are
# what conftest's summary compares.
@only_selected("sqlite3")
@pytest.mark.parametrize("engine", ENGINES)
def test_compile_sqlite3(benchmark, engine, tmp_path):
    compile_bench(benchmark, "sqlite3", engine, tmp_path)


@only_selected("lua")
@pytest.mark.parametrize("engine", ENGINES)
def test_compile_lua(benchmark, engine, tmp_path):
    compile_bench(benchmark, "lua", engine, tmp_path)


@only_selected("bigmem")
@pytest.mark.parametrize("engine", ENGINES)
def test_compile_bigmem(benchmark, engine, tmp_path):
    compile_bench(benchmark, "bigmem", engine, tmp_path)
