"""wasm -> LLVM IR -> optimized object -> shared object."""

from __future__ import annotations

from aot.abi.fingerprint import CPU_FEATURES, Fingerprint
from aot.codegen.emit import host_triple, llvm_version, target_machine
from aot.codegen.options import CompileOptions
from aot.codegen.pipeline import CompileProfile, compile_module
from aot.codegen.translate import translate_module
from aot.version import full_version
from aot.wasm.module import Module


def compile_to_ir(module: Module, options: CompileOptions) -> str:
    tm = target_machine(options, options.target)
    return translate_module(module, options, _triple(options), str(tm.target_data))


def _triple(options: CompileOptions) -> str:
    return options.target or host_triple()


def fingerprint(options: CompileOptions) -> Fingerprint:
    """What an artifact compiled with `options` needs from the machine that runs it."""
    import llvmlite.binding as llvm

    cpu = options.target_cpu
    if cpu == "native":
        cpu = llvm.get_host_cpu_name()
        features = tuple(sorted(k for k, on in llvm.get_host_cpu_features().items() if on))
    else:
        features = CPU_FEATURES.get(cpu, ())
    import llvmlite

    return Fingerprint(full_version(), llvm_version(), _triple(options), cpu, features,
                       options.as_dict(), llvmlite.__version__)


__all__ = ["CompileOptions", "CompileProfile", "compile_module", "compile_to_ir", "fingerprint", "llvm_version"]
