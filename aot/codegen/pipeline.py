"""The compile pipeline: plan units, translate + optimize + emit each (in parallel
processes when there are several units and jobs), link the objects and the bulk data.

A unit whose IR and compiler are those of an object in the cache (`aot.codegen.unitcache`)
is not optimized or emitted again.

Units run in worker processes rather than threads: llvmlite releases the GIL inside
LLVM, but building the IR is Python and holds it, and it is half the work.  Workers are
plain subprocesses (`aot.codegen.worker`) that decode the wasm bytes themselves once
each and return object files.  The split into units does not depend on the
number of jobs, so neither does the artifact."""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aot.codegen.options import CompileOptions
from aot.codegen.unitcache import facts_record, read_facts_record, seen_key, source_keys
from aot.codegen.units import UnitPlan, function_grain, plan_units
from aot.wasm.decoder import bodies_decoded, gc_paused
from aot.wasm.module import BodyFacts, Module

if TYPE_CHECKING:
    from aot.cache import Cache

PHASES = ("decode", "plan", "ir", "optimize", "emit", "link")
_UNIT_PHASES = frozenset({"ir", "optimize", "emit"})  # each unit's, summed as CPU time

# Units smaller than this (wasm code bytes, all units together) are compiled in the
# calling process even with several jobs: starting workers would cost more than it saves.
PARALLEL_MIN_CODE_BYTES = 64 * 1024


@dataclass
class CompileProfile:
    """Where a compile's time went.  `ir`, `optimize` and `emit` add up the units' CPU
    times (the thread's, whichever process ran it: a unit waiting for a core does not
    count); `decode` adds the workers' decoding (CPU) to this process's parse and
    validation, which with `plan` and `link` are elapsed times; `wall` is the whole
    compile's."""

    seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(PHASES, 0.0))
    wall: float = 0.0
    units: int = 0
    jobs: int = 1
    functions: int = 0
    functions_compiled: int = 0  # the functions of the units not found in the cache
    units_cached: int = 0
    units_translated: int = 0  # to LLVM IR: those not found by their inputs
    ir_bytes: int = 0
    peak_rss_mb: float = 0.0  # this process and its finished workers

    def add(self, phase: str, seconds: float) -> None:
        self.seconds[phase] += seconds

    def format(self) -> str:
        lines = [f"{phase:>9}  {self.seconds[phase]:8.3f} s{' CPU' if phase in _UNIT_PHASES else ''}"
                 for phase in PHASES]
        cached = (f", {self.units_cached} from the cache, {self.units_translated} translated"
                  if self.units_cached else "")
        lines.append(f"{'total':>9}  {self.wall:8.3f} s wall  ({self.units} units{cached}, "
                     f"{self.jobs} jobs, {self.functions} functions, "
                     f"{self.functions_compiled} compiled, "
                     f"{self.ir_bytes / 1e6:.1f} MB of IR, peak RSS {self.peak_rss_mb:.0f} MB "
                     "in the largest process)")
        return "\n".join(lines)


# progress(units_done, units_total, functions_done, functions_total, phase): called once
# the units are planned (phase "compile", units from the cache counted done), as each
# unit finishes, and before linking (phase "link").
Progress = Callable[[int, int, int, int, str], None]


def default_jobs() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def compile_module(module: Module, options: CompileOptions, *, wasm: bytes | None = None,
                   jobs: int | None = None, progress: Progress | None = None,
                   profile: CompileProfile | None = None, cache: Cache | None = None,
                   workers: Workers | None = None) -> bytes:
    """Compile a decoded, validated module to an artifact: an ELF shared object followed
    by the fingerprint trailer (`aot.abi.fingerprint`).  `wasm`, the module's bytes,
    lets worker processes decode it themselves; without it units run in this process.
    With a `cache`, units compiled before are taken from it and new ones stored.
    `workers`, started for these bytes and options before the module was decoded, are
    used (as many as `jobs` says) instead of starting new ones; the caller closes them.
    A module parsed without its bodies (`aot.wasm.parse(..., keep_bodies=False)`) has
    them decoded unit by unit from `wasm`, here as in the workers."""
    from aot.abi.fingerprint import append_trailer
    from aot.codegen import fingerprint
    from aot.codegen.link import link_shared_object
    from aot.codegen.translate import artifact_blobs, blob_sizes

    if jobs is not None and (not isinstance(jobs, int) or isinstance(jobs, bool) or jobs < 1):
        raise ValueError(f"jobs must be a positive integer or None, not {jobs!r}")
    from aot.codegen.emit import check_target

    started = time.perf_counter()
    check_target(options)
    profile = profile if profile is not None else CompileProfile()
    t = time.perf_counter()
    plan = plan_units(module, options.codegen_units,
                      per_function=function_grain(options.opt_level))
    if options.embed_wasm and wasm is None:
        raise ValueError("embed_wasm needs the module's bytes (wasm=)")
    blobs = artifact_blobs(module, wasm if options.embed_wasm else None)
    sizes = blob_sizes(blobs)
    profile.add("plan", time.perf_counter() - t)
    profile.units = plan.count
    profile.functions = len(module.codes)
    # A one-unit module has nothing to reuse after an edit: any edit changes its unit.
    cache = cache if plan.count > 1 else None
    job = _UnitJob(options, plan, sizes, fingerprint(options).to_json(), cache)
    objects: list[bytes | None] = [None] * plan.count
    if cache is not None and wasm is not None:
        # Units found by their inputs are neither translated nor compiled.
        t = time.perf_counter()
        job.source_keys = source_keys(job.fingerprint, wasm, module, plan, sizes)
        for unit, key in enumerate(job.source_keys):
            obj = cache.get_unit(key)
            if obj is not None:
                objects[unit] = obj
                _account(profile, plan, unit, {}, 0, True)
        profile.add("plan", time.perf_counter() - t)
    todo = [unit for unit in range(plan.count) if objects[unit] is None]
    jobs = max(1, min(jobs or default_jobs(), len(todo)))
    parallel = wasm is not None and _worth_workers(jobs, sum(plan.unit_sizes[u] for u in todo))
    profile.jobs = jobs if parallel else 1
    done = [plan.count - len(todo), sum(len(plan.units[u]) for u in range(plan.count)
                                        if objects[u] is not None)]
    if progress:
        progress(done[0], plan.count, done[1], len(module.codes), "compile")
    if parallel:
        if workers is not None and len(workers.procs) >= jobs:
            _run_in_workers(job, workers.procs[:jobs], module, todo, objects, done, progress,
                            profile)
        else:
            with Workers(wasm, options, jobs) as own:
                _run_in_workers(job, own.procs, module, todo, objects, done, progress, profile)
    else:
        for unit in todo:
            t = time.perf_counter()
            with bodies_decoded(module, wasm, plan.translated(unit)):
                profile.add("decode", time.perf_counter() - t)
                obj, times, ir_bytes, cached = job.run(module, unit)
            objects[unit] = obj
            _account(profile, plan, unit, times, ir_bytes, cached)
            done[0] += 1
            done[1] += len(plan.units[unit])
            if progress:
                progress(done[0], plan.count, done[1], len(module.codes), "compile")
    if progress:
        progress(plan.count, plan.count, len(module.codes), len(module.codes), "link")
    t = time.perf_counter()
    # The collector paused: reading the objects makes ~100,000 objects, all alive until
    # the end, beside the module's skeleton; its scans were 40 % of linking the SQLite
    # shell's 1,327 objects (0.41 -> 0.25 s).
    with gc_paused():
        artifact = append_trailer(link_shared_object(objects, blobs), fingerprint(options))
    profile.add("link", time.perf_counter() - t)
    if cache is not None:
        if wasm is not None:
            cache.put_mark(seen_key(job.fingerprint, wasm, module), facts_record(wasm, module))
        cache.auto_prune()
    profile.wall += time.perf_counter() - started
    profile.peak_rss_mb = peak_rss_mb()
    return artifact


def _account(profile: CompileProfile, plan: UnitPlan, unit: int, times: dict[str, float],
             ir_bytes: int, cached: bool) -> None:
    for phase, seconds in times.items():
        profile.add(phase, seconds)
    profile.ir_bytes += ir_bytes
    if ir_bytes:
        profile.units_translated += 1
    if cached:
        profile.units_cached += 1
    else:
        profile.functions_compiled += len(plan.units[unit])


def peak_rss_mb() -> float:
    """The largest peak RSS among this process and the workers it waited for.  This
    process's own from /proc (VmHWM): Linux starts a process's ru_maxrss at its
    parent's peak when it was spawned with vfork (as subprocess does), which would
    report a test runner's memory as the compile's.  The workers' ru_maxrss is inflated
    the same way by at most this process's peak, which the maximum includes anyway."""
    import resource

    own = _own_peak_kb() or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024


def _own_peak_kb() -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


@dataclass
class _UnitJob:
    """What every unit needs besides the module: picklable, sent to each worker."""

    options: CompileOptions
    plan: UnitPlan
    sizes: dict[str, int]
    fingerprint: bytes  # the compiler's, for the unit cache's keys
    cache: Cache | None = None  # pickled as its folder and shared server's address
    # Each unit's key by its inputs (`aot.codegen.unitcache.source_keys`), when the
    # module's bytes are known (else units are keyed by their IR); units found by it
    # never get here.
    source_keys: list[str] | None = None

    def run(self, module: Module, unit: int) -> tuple[bytes, dict[str, float], int, bool]:
        """Translate, optimize and emit one unit: its object, phase times, IR size, and
        whether the object came from the cache."""
        from aot.codegen.emit import emit_object, host_triple, optimize, parse_ir, target_machine
        from aot.codegen.translate import translate_unit
        from aot.codegen.unitcache import unit_key

        opts = self.options
        tm = target_machine(opts, opts.target)
        t0 = time.thread_time()
        with gc_paused():
            text = translate_unit(module, opts, opts.target or host_triple(),
                                  str(tm.target_data), self.plan, unit, self.sizes)
        t1 = time.thread_time()
        ir_bytes = len(text)
        cache, key = self.cache, None
        if cache is not None:
            if self.source_keys is not None:  # already looked up, and missing
                key = self.source_keys[unit]
            else:
                key = unit_key(self.fingerprint, text)
                obj = cache.get_unit(key)
                if obj is not None:
                    return obj, {"ir": time.thread_time() - t0}, ir_bytes, True
        mod = parse_ir(text)
        del text
        optimize(mod, tm, opts.opt_level)
        t2 = time.thread_time()
        obj = emit_object(mod, tm)
        t3 = time.thread_time()
        if cache is not None:
            cache.put_unit(key, obj)
        return obj, {"ir": t1 - t0, "optimize": t2 - t1, "emit": t3 - t2}, ir_bytes, False


# --- worker processes ------------------------------------------------------------------

class Workers:
    """Compile worker processes (`python -m aot.codegen.worker`), each sent the module's
    bytes as soon as it starts: started before the module is decoded and validated
    (`aot.compiler.compile_artifact`), their start-up (an interpreter, aot's and
    llvmlite's imports, the module's skeleton decoded) overlaps this process's work.
    Plain subprocesses rather than `multiprocessing`: see `aot.codegen.worker`."""

    def __init__(self, wasm: bytes, options: CompileOptions, count: int):
        import subprocess
        import threading

        from aot.codegen.worker import send

        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
        self.procs: list[WorkerProcess] = []
        try:
            for _ in range(count):
                proc = subprocess.Popen([sys.executable, "-m", "aot.codegen.worker"],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
                # The pipe holds less than a module: a thread writes it while the worker
                # starts, so this process goes on meanwhile.
                sender = threading.Thread(target=_send_quietly, daemon=True,
                                          args=(send, proc.stdin, ("module", options, wasm)))
                sender.start()
                self.procs.append(WorkerProcess(proc, sender))
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """End every worker: one that compiled sees its input end and exits; one never
        given work (the compile failed, or needed fewer workers) is killed, which does
        not wait for it to finish starting."""
        for worker in self.procs:
            worker.close()

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _worth_workers(jobs: int, code_bytes: int) -> bool:
    """Whether `jobs` worker processes would compile `code_bytes` of wasm code: more
    than one job, enough code, and an interpreter to run them with (an embedding may
    have no sys.executable)."""
    return jobs > 1 and code_bytes >= PARALLEL_MIN_CODE_BYTES and bool(sys.executable)


def start_workers(wasm: bytes, options: CompileOptions, jobs: int | None,
                  seen: bool = False) -> Workers:
    """Workers for compiling `wasm` before it is decoded: none (an empty set) when the
    compile will not use them (the whole module's size bounds its code's), or when the
    cache has `seen` this module's environment (`recall_bodies`): a rebuild finds most
    units there, and two interpreters starting beside the decoding cost it a sixth of
    its time (`aot compile -O0` of the SQLite shell after a one-function edit: 1.6 s
    against 1.4 s); `compile_module` starts workers itself if many units are missing
    after all."""
    count = jobs or default_jobs()
    if seen or not _worth_workers(count, len(wasm)):
        count = 0
    return Workers(wasm, options, count)


def recall_bodies(cache: Cache, wasm: bytes, options: CompileOptions) -> dict[bytes, BodyFacts] | None:
    """The facts of the function bodies a compile of a module with this one's
    environment left in `cache` (`unitcache.facts_record`), for the parse to skip them;
    None when no such compile left its mark.  Decodes the module's skeleton only
    (milliseconds); a malformed module is "not seen" (its parse reports it)."""
    from aot.codegen import fingerprint
    from aot.errors import CompileError
    from aot.wasm.decoder import decode

    try:
        skeleton = decode(wasm, bodies=(), multi_memory=options.multi_memory,
                          memory64=options.memory64, threads=options.threads)
    except CompileError:
        return None
    record = cache.get_mark(seen_key(fingerprint(options).to_json(), wasm, skeleton))
    return None if record is None else read_facts_record(record)


def _send_quietly(send, stream, message) -> None:
    try:
        send(stream, message)
    except (OSError, ValueError):
        pass  # the worker died or was closed first: whoever reads from it reports that


@dataclass
class WorkerProcess:
    proc: object  # subprocess.Popen
    sender: object  # threading.Thread writing the module
    used: bool = False  # sent a job

    def close(self) -> None:
        proc = self.proc
        if not self.used and proc.poll() is None:
            proc.kill()  # its sender then meets a broken pipe and ends
        self.sender.join()  # before closing the pipe it may be writing to
        if proc.stdin is not None and not proc.stdin.closed:
            with contextlib.suppress(OSError):
                proc.stdin.close()
        if proc.stdout is not None and not proc.stdout.closed:
            proc.stdout.close()
        proc.wait()


def _run_in_workers(job: _UnitJob, workers: list[WorkerProcess], module: Module,
                    units: list[int], objects: list[bytes | None], done: list[int],
                    progress: Progress | None, profile: CompileProfile) -> None:
    """Compile `units` in `workers`, each fed by a thread of this process that waits on
    its pipe, into `objects`; `done` counts the units and functions finished (for
    `progress`)."""
    import queue
    import threading

    from aot.codegen.worker import receive, send
    from aot.errors import AotError

    plan = job.plan
    todo: queue.SimpleQueue[int] = queue.SimpleQueue()
    # Largest units first, so no core idles at the end waiting for a big one; the
    # runtime unit before all: its size counts its functions only, but its entries,
    # trampolines and aot_init are among the largest jobs (SQLite shell: 1.5 MB of IR,
    # 0.5 s at -O0 and 1.9 s at -O2), which, sent last, kept the other core idle.
    for unit in sorted(units, key=lambda k: (k != plan.runtime_unit, -plan.unit_sizes[k])):
        todo.put(unit)
    errors: list[BaseException] = []
    lock = threading.Lock()

    def drive(worker: WorkerProcess) -> None:
        proc = worker.proc
        try:
            worker.used = True
            worker.sender.join()
            send(proc.stdin, ("job", job))
            while not errors:
                try:
                    unit = todo.get_nowait()
                except queue.Empty:
                    return
                send(proc.stdin, ("unit", unit))
                reply = receive(proc.stdout)
                if reply is None:
                    raise AotError(f"a compile worker died (exit status {proc.wait()}) "
                                   f"while compiling codegen unit {unit}")
                if reply[0] == "error":
                    raise reply[2]
                _, unit, obj, times, ir_bytes, cached = reply
                with lock:
                    objects[unit] = obj
                    _account(profile, plan, unit, times, ir_bytes, cached)
                    done[0] += 1
                    done[1] += len(plan.units[unit])
                    if progress:
                        progress(done[0], plan.count, done[1], len(module.codes), "compile")
        except BaseException as exc:  # noqa: BLE001 - re-raised by the caller's thread
            with lock:
                errors.append(exc)
        finally:
            worker.close()

    threads = [threading.Thread(target=drive, args=(w,), name=f"aot-compile-{k}", daemon=True)
               for k, w in enumerate(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
