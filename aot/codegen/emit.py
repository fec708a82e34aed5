"""LLVM IR -> optimized ELF relocatable object, through llvmlite."""

from __future__ import annotations

import functools
import platform
import subprocess
import sys
import threading

import llvmlite.binding as llvm

from aot.codegen.options import CompileOptions, target_arch
from aot.errors import CompileError

_init_lock = threading.Lock()
_initialized = False


def _init_llvm() -> None:
    global _initialized
    with _init_lock:
        if not _initialized:
            llvm.initialize_all_targets()
            llvm.initialize_all_asmprinters()
            # Inline asm with instructions (simd_float's in-order add/mul) is parsed by
            # the target's asm parser: llvmlite offers the native one only.
            llvm.initialize_native_asmparser()
            _initialized = True


def llvm_version() -> str:
    return ".".join(map(str, llvm.llvm_version_info))


def host_triple() -> str:
    _init_llvm()
    return llvm.get_process_triple()


# CPU names checked without a probe: the defaults and the x86-64 levels.
_KNOWN_CPUS = frozenset({"native", "generic", "x86-64", "x86-64-v2", "x86-64-v3", "x86-64-v4"})


# Target machines made by this thread, by (triple, CPU, level): a fresh one costs its
# first object about half a millisecond of set-up, which a unit per function paid each
# time (the Lua interpreter at -O0: 0.35 s of 1.2 s emitting).  Per thread because
# LLVM's TargetMachine caches subtargets without a lock.
_machines = threading.local()


def target_machine(options: CompileOptions, triple: str | None = None) -> llvm.TargetMachine:
    _init_llvm()
    triple = triple or host_triple()
    key = (triple, options.target_cpu, options.opt_level)
    made = _machines.__dict__.setdefault("by_key", {})
    tm = made.get(key)
    if tm is None:
        target = llvm.Target.from_triple(triple)
        native = options.target_cpu == "native"
        cpu = llvm.get_host_cpu_name() if native else options.target_cpu
        features = llvm.get_host_cpu_features().flatten() if native else ""
        tm = made[key] = target.create_target_machine(
            cpu=cpu, features=features, opt=options.opt_level, reloc="pic", codemodel="small",
        )
    return tm


# x86-64 CPU levels with FMA instructions (x86-64-v3 and up); other named x86 CPUs are
# not looked up, and take the portable path where it matters (relaxed SIMD's madd).
_FMA_LEVELS = frozenset({"x86-64-v3", "x86-64-v4"})


@functools.cache
def has_fma(target: str | None, target_cpu: str | None) -> bool:
    """Whether code for this target and CPU may use fused multiply-add instructions."""
    if target_arch(target) in ("aarch64", "arm64"):
        return True  # part of the base architecture
    if target_cpu == "native" and target is None:
        _init_llvm()
        return bool(llvm.get_host_cpu_features().get("fma"))
    return target_cpu in _FMA_LEVELS


@functools.cache
def has_avx(target: str | None, target_cpu: str | None) -> bool:
    """Whether x86 code for this CPU may use VEX-encoded (AVX) instructions, so that
    hand-written SIMD asm does not mix legacy SSE encodings into AVX code."""
    if target_arch(target) not in ("x86_64", "amd64"):
        return False
    if target_cpu == "native" and target is None:
        _init_llvm()
        return bool(llvm.get_host_cpu_features().get("avx"))
    return target_cpu in _FMA_LEVELS  # x86-64-v3 and up (named CPUs: SSE, to be safe)


def parses_x86_asm(target: str | None) -> bool:
    """Whether inline asm naming x86 instructions can be assembled for `target`: an x86
    target on an x86 host (llvmlite initializes only the host's asm parser)."""
    return (target_arch(target) in ("x86_64", "amd64")
            and platform.machine().lower() in ("x86_64", "amd64"))


def check_target(options: CompileOptions) -> None:
    """Refuse, with a sentence, a target triple or CPU name LLVM does not know (checked
    once per compile, before any worker starts)."""
    _init_llvm()
    triple = options.target or host_triple()
    try:
        llvm.Target.from_triple(triple)
    except RuntimeError as exc:
        raise CompileError(f"unknown target {triple!r}: {str(exc).strip()}") from None
    if options.target_cpu not in _KNOWN_CPUS:
        _check_cpu(triple, options.target_cpu)


_CPU_EXAMPLES = {"x86_64": "x86-64-v3, znver3, skylake", "aarch64": "neoverse-n1, cortex-a72"}


@functools.cache
def _check_cpu(triple: str, cpu: str) -> None:
    """LLVM only warns about an unknown CPU on stderr, once per function, and may then
    abort the process ("64-bit code requested on a subtarget that doesn't support it"),
    so the name is tried in a child process."""
    probe = ("import llvmlite.binding as l; l.initialize_all_targets(); "
             "l.initialize_all_asmprinters(); import sys; "
             "tm = l.Target.from_triple(sys.argv[1]).create_target_machine(cpu=sys.argv[2]); "
             "m = l.parse_assembly('define void @f() { ret void }'); tm.emit_object(m)")
    try:
        done = subprocess.run([sys.executable, "-c", probe, triple, cpu], capture_output=True,
                              text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise CompileError(f"cannot check CPU {cpu!r} for {triple}: {exc}") from None
    if done.returncode != 0 or "not a recognized processor" in done.stderr:
        examples = _CPU_EXAMPLES.get(triple.split("-", 1)[0], "generic")
        raise CompileError(f"unknown CPU {cpu!r} for target {triple} (LLVM {llvm_version()} "
                           f"knows names such as {examples})")


def parse_ir(ir_text: str) -> llvm.ModuleRef:
    """LLVM's module from IR text, verified: a malformed module is a code generator bug,
    better caught here than as a miscompile."""
    mod = llvm.parse_assembly(ir_text, context=llvm.create_context())
    mod.verify()
    return mod


def optimize(mod: llvm.ModuleRef, tm: llvm.TargetMachine, opt_level: int) -> None:
    """Nothing at -O0; at -O1 a short function pipeline that keeps wasm locals in
    registers (SROA) and folds the translation's redundancy (InstCombine,
    SimplifyCFG); LLVM's -O2 / -O3 pipelines above.  The target machine's level is the
    same number: measured on the SQLite shell, -O0's FastISel and fast register
    allocator make code 2.7x slower whatever IR pipeline ran, while -O1's short
    pipeline with the full instruction selector runs as fast as -O2."""
    if opt_level == 0:
        return
    pb = llvm.create_pass_builder(tm, llvm.create_pipeline_tuning_options(speed_level=opt_level))
    if opt_level == 1:
        fpm = llvm.create_new_function_pass_manager()
        fpm.add_sroa_pass()
        fpm.add_instruction_combine_pass()
        fpm.add_simplify_cfg_pass()
        for fn in mod.functions:
            if not fn.is_declaration:
                fpm.run(fn, pb)
        return
    pb.getModulePassManager().run(mod, pb)


def emit_object(mod: llvm.ModuleRef, tm: llvm.TargetMachine) -> bytes:
    return tm.emit_object(mod)


def optimize_and_emit(ir_text: str, tm: llvm.TargetMachine, opt_level: int) -> bytes:
    """Parse, verify, run LLVM's -O<n> pipeline and emit an ELF object."""
    mod = parse_ir(ir_text)
    optimize(mod, tm, opt_level)
    return emit_object(mod, tm)
