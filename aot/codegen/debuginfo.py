"""DWARF line information whose "line" is a wasm byte offset (WAVM's idea): LLVM's own
line table then maps every machine address back to the wasm instruction it came from,
through inlining too, and `aot.elf.addrmap` reads it back for backtraces.  Emitted as
line tables only (no types or variables).

A line is the offset from the start of the function's body plus one (0 stays DWARF's
"no line"), as the trap sites count (`aot.abi.traps.trap_site`): a function's code
must not depend on where it lies in the module, or the per-unit compile cache would
miss for every function after one that changed size."""

from __future__ import annotations

from llvmlite import ir

from aot.codegen.llvmtypes import I32


class DebugBuilder(ir.IRBuilder):
    """An IRBuilder that attaches the current `dbg` location to what it inserts."""

    dbg: ir.DIValue | None = None

    def _insert(self, instr: ir.Instruction) -> None:
        super()._insert(instr)
        if self.dbg is not None and "dbg" not in instr.metadata:
            instr.set_metadata("dbg", self.dbg)


class DebugInfo:
    def __init__(self, module: ir.Module, module_name: str):
        self.module = module
        self.file = module.add_debug_info(
            "DIFile", {"filename": f"{module_name}.wasm", "directory": ""})
        self.cu = module.add_debug_info("DICompileUnit", {
            "language": ir.DIToken("DW_LANG_C99"),
            "file": self.file,
            "producer": "aot",
            "isOptimized": True,
            "runtimeVersion": 0,
            "emissionKind": ir.DIToken("LineTablesOnly"),
            # Keep a subprogram DIE for every function, inlined into or not: the
            # backtrace reader finds functions by them.
            "debugInfoForProfiling": True,
        }, is_distinct=True)
        module.add_named_metadata("llvm.dbg.cu", self.cu)
        module.add_named_metadata("llvm.module.flags", [ir.Constant(I32, 7), "Dwarf Version", ir.Constant(I32, 4)])
        module.add_named_metadata("llvm.module.flags", [ir.Constant(I32, 2), "Debug Info Version", ir.Constant(I32, 3)])
        self.subroutine_type = module.add_debug_info(
            "DISubroutineType", {"types": module.add_metadata([])})
        self._locations: dict[tuple[int, int], ir.DIValue] = {}

    def subprogram(self, fn: ir.Function) -> ir.DIValue:
        sp = self.module.add_debug_info("DISubprogram", {
            "name": fn.name,
            "scope": self.file,
            "file": self.file,
            "line": 0,
            "type": self.subroutine_type,
            "scopeLine": 0,
            "spFlags": ir.DIToken("DISPFlagDefinition | DISPFlagOptimized"),
            "unit": self.cu,
        }, is_distinct=True)
        fn.set_metadata("dbg", sp)
        return sp

    def location(self, scope: ir.DIValue, line: int) -> DILocation:
        key = (id(scope), line)
        loc = self._locations.get(key)
        if loc is None:
            loc = self._locations[key] = DILocation(self.module, scope, line)
        return loc


class DILocation:
    """A `!DILocation(line: N, scope: S)` node, numbered and rendered on first use.
    There is one per wasm instruction offset that some located instruction refers to;
    llvmlite's `add_debug_info` (operands sorted, hashed and compared for
    deduplication) cost a quarter of the IR-building time, and `DebugInfo.location`
    already deduplicates.  Nodes no instruction refers to never reach the module."""

    __slots__ = ("_module", "_scope", "_line", "_ref")

    def __init__(self, module: ir.Module, scope: ir.DIValue, line: int):
        self._module = module
        self._scope = scope
        self._line = line
        self._ref = None

    def get_reference(self) -> str:
        if self._ref is None:
            self._ref = f"!{len(self._module.metadata)}"
            self._module.metadata.append(self)
        return self._ref

    def __str__(self) -> str:
        return (f"{self.get_reference()} = !DILocation(line: {self._line}, column: 0, "
                f"scope: {self._scope.get_reference()})")
