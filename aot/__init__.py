"""aot: an ahead-of-time compiler for WebAssembly.

    import aot
    module = aot.compile(open("add.wasm", "rb").read())   # or aot.load("add.so")
    instance = module.instantiate({"env": {"log": print}})
    instance.exports.add(1, 2)
    aot.compile('(module (func (export "one") (result i32) i32.const 1))')  # text too
"""

from aot.abi.traps import TrapCode
from aot.compiler import load, validate
from aot.errors import (
    AotError,
    ArtifactError,
    CompileError,
    Exit,
    IncompatibleArtifactError,
    LinkError,
    NotSupportedError,
    Trap,
)
from aot.loader import Caller, Closure, Func, Global, Instance, Linker, Memory, Module, Store, Table
from aot.loader.limits import ResourceLimitError, StoreLimits
from aot.version import __version__
from aot.wasm.types import FuncType, GlobalType, Limits, MemoryType, TableType, ValType

__all__ = [
    "AotError", "ArtifactError", "Caller", "Closure", "CompileError", "CompileOptions", "Exit", "Func", "FuncType", "Global",
    "GlobalType", "IncompatibleArtifactError", "Instance", "Limits", "LinkError", "Linker", "Memory", "MemoryType", "Module",
    "NotSupportedError", "ResourceLimitError", "Store", "StoreLimits", "Table", "TableType", "Trap", "TrapCode", "ValType", "WasiConfig", "WasiCtx",
    "compile", "compile_artifact", "compile_file", "compile_many", "load", "load_package_artifact", "validate",
    "wat2wasm", "__version__",
]

# The compiler (LLVM), the text format and WASI are imported on first use: a process that
# only loads artifacts never pays for them.
_COMPILER = {"compile": "aot.compiler", "compile_artifact": "aot.compiler",
             "compile_many": "aot.batch", "load_package_artifact": "aot.packaging",
             "compile_file": "aot.compiler", "CompileOptions": "aot.codegen.options",
             "WasiConfig": "aot.wasi", "WasiCtx": "aot.wasi", "wat2wasm": "aot.wat"}


def __getattr__(name: str):
    where = _COMPILER.get(name)
    if where is None:
        raise AttributeError(f"module 'aot' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(where), name)
    globals()[name] = value
    return value
