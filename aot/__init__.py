"""aot: an ahead-of-time compiler for WebAssembly.

    import aot
    module = aot.compile(open("add.wasm", "rb").read())   # or aot.load("add.so")
    instance = module.instantiate({"env": {"log": print}})
    instance.exports.add(1, 2)
"""

from aot.abi.traps import TrapCode
from aot.codegen.options import CompileOptions
from aot.compiler import compile, compile_artifact, compile_file, load
from aot.errors import (
    AotError,
    ArtifactError,
    CompileError,
    LinkError,
    NotSupportedError,
    Trap,
)
from aot.loader import Func, Global, Instance, Memory, Module, Store, Table
from aot.version import __version__
from aot.wasm.types import FuncType, GlobalType, Limits, MemoryType, TableType, ValType

__all__ = [
    "AotError", "ArtifactError", "CompileError", "CompileOptions", "Func", "FuncType", "Global",
    "GlobalType", "Instance", "Limits", "LinkError", "Memory", "MemoryType", "Module",
    "NotSupportedError", "Store", "Table", "TableType", "Trap", "TrapCode", "ValType",
    "compile", "compile_artifact", "compile_file", "load", "__version__",
]
