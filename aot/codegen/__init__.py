"""wasm -> LLVM IR -> optimized object -> shared object."""

from __future__ import annotations

from aot.codegen.emit import host_triple, llvm_version, optimize_and_emit, target_machine
from aot.codegen.link import link_shared_object
from aot.codegen.options import CompileOptions
from aot.codegen.translate import translate_module
from aot.wasm.module import Module


def compile_to_ir(module: Module, options: CompileOptions) -> str:
    tm = target_machine(options)
    return str(translate_module(module, options, host_triple(), str(tm.target_data)))


def compile_module(module: Module, options: CompileOptions) -> bytes:
    """Compile a decoded, validated module to the bytes of an ELF shared object."""
    tm = target_machine(options)
    ir_module = translate_module(module, options, host_triple(), str(tm.target_data))
    obj = optimize_and_emit(str(ir_module), tm, options.opt_level)
    return link_shared_object(obj)


__all__ = ["CompileOptions", "compile_module", "compile_to_ir", "llvm_version"]
