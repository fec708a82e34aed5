"""LLVM IR -> optimized ELF relocatable object, through llvmlite."""

from __future__ import annotations

import threading

import llvmlite.binding as llvm

from aot.codegen.options import CompileOptions

_init_lock = threading.Lock()
_initialized = False


def _init_llvm() -> None:
    global _initialized
    with _init_lock:
        if not _initialized:
            llvm.initialize_all_targets()
            llvm.initialize_all_asmprinters()
            _initialized = True


def llvm_version() -> str:
    return ".".join(map(str, llvm.llvm_version_info))


def host_triple() -> str:
    _init_llvm()
    return llvm.get_process_triple()


def target_machine(options: CompileOptions, triple: str | None = None) -> llvm.TargetMachine:
    _init_llvm()
    triple = triple or host_triple()
    target = llvm.Target.from_triple(triple)
    cpu = llvm.get_host_cpu_name() if options.target_cpu == "native" else options.target_cpu
    features = llvm.get_host_cpu_features().flatten() if options.target_cpu == "native" else ""
    return target.create_target_machine(
        cpu=cpu, features=features, opt=options.opt_level, reloc="pic", codemodel="small",
    )


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
