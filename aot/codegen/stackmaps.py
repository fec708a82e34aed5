"""GC roots in compiled code: where a wasm frame keeps its externrefs while a host
function runs, and the stack maps that say so.

The collector (`aot.loader.gc`) frees a Python object once nothing in wasm holds its
externref handle.  Tables and globals it scans directly; references on the wasm stack it
finds by walking the frames of the wasm code that called out to the host, looking up
each return address in the artifact's stack maps (wasmtime's design).  A host function
can only run below a call, so the calls are the GC points, and at each of them every
reference the frame will still need must be in memory, where the map says:

* An externref local lives in a stack slot of its own that the function lets escape
  (an empty asm takes its address), so LLVM keeps it in memory and current instead of
  promoting it to a register.
* Before each call, every reference left on the operand stack under the arguments is
  stored into an operand slot (one per stack depth; funcrefs too: a word that is no
  handle keeps nothing alive).
* After the call, `llvm.experimental.stackmap(id, 0, slots...)` makes LLVM record where
  those slots are (frame pointer + offset) in the `.llvm_stackmaps` section, which the
  ELF writer keeps as a non-loaded section with static addresses (`aot.elf.stackmaps`).

LLVM puts the record's address a few bytes past the call's return address (moves of the
result come first), so a return address is matched with the first record at or after
it in the same function; every GC-point call of a function in such a module has a
record (an empty one when no reference is live), so that record is its own.  Modules
without externref (the plan's `uses_externref`) get none of this: no slot, no record,
no cost."""

from __future__ import annotations

from typing import TYPE_CHECKING

from llvmlite import ir

from aot.codegen.llvmtypes import I32, I64, PTR, VOID

if TYPE_CHECKING:
    from aot.codegen.function import FunctionTranslator

STACKMAP_INTRINSIC = "llvm.experimental.stackmap"


def stackmap_id(func_index: int, site: int) -> int:
    """A record's id: the function index and the call's number in it (`aot inspect`)."""
    return (func_index << 32) | site


class GcRoots:
    """The root slots of one function being translated."""

    def __init__(self, tr: FunctionTranslator):
        self.tr = tr
        self.locals: list[ir.Value] = []  # the slots of externref locals
        self._operand_slots: list[ir.Value] = []
        self._sites = 0
        self._escape = ir.InlineAsm(ir.FunctionType(VOID, [PTR]), "", "r,~{memory}",
                                    side_effect=True)

    def slot(self, ty: ir.Type, name: str) -> ir.Value:
        """A stack slot whose address escapes: LLVM must keep its contents in memory."""
        eb = self.tr.entry_builder
        slot = eb.alloca(ty, name=name)
        eb.call(self._escape, [slot])
        return slot

    def add_local(self, slot: ir.Value) -> None:
        self.locals.append(slot)

    def before_call(self) -> list[ir.Value]:
        """Store the references on the operand stack (the arguments already popped) into
        operand slots; return every slot live across the call."""
        b = self.tr.builder
        live = list(self.locals)
        depth = 0
        for v in self.tr.stack:
            if v.type != PTR or isinstance(v, ir.Constant):
                continue
            if depth == len(self._operand_slots):
                self._operand_slots.append(self.slot(PTR, f"gc_operand{depth}"))
            slot = self._operand_slots[depth]
            b.store(v, slot)
            live.append(slot)
            depth += 1
        return live

    def after_call(self, live: list[ir.Value]) -> None:
        """The stack-map record of the call just emitted."""
        tr = self.tr
        fn = tr.mc.intrinsic(STACKMAP_INTRINSIC, VOID, [I64, I32], var_arg=True)
        tr.builder.call(fn, [ir.Constant(I64, stackmap_id(tr.func_index, self._sites)),
                             ir.Constant(I32, 0), *live])
        self._sites += 1


__all__ = ["STACKMAP_INTRINSIC", "GcRoots", "stackmap_id"]
