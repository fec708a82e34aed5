"""local.get/set/tee and global.get/set.  Locals live in allocas that mem2reg turns into
SSA values; globals live in 16-byte slots the VMContext points at."""

from __future__ import annotations

from aot.codegen.function import FunctionTranslator
from aot.codegen.irutil import load_at
from aot.codegen.llvmtypes import PTR, llvm_type
from aot.codegen.ops.registry import stateful
from aot.wasm.instr import Instr


@stateful("local.get")
def local_get(tr: FunctionTranslator, ins: Instr) -> None:
    i = ins.imm
    tr.stack.append(tr.builder.load(tr.locals[i], typ=llvm_type(tr.local_types[i])))


@stateful("local.set")
def local_set(tr: FunctionTranslator, ins: Instr) -> None:
    tr.builder.store(tr.stack.pop(), tr.locals[ins.imm])


@stateful("local.tee")
def local_tee(tr: FunctionTranslator, ins: Instr) -> None:
    tr.builder.store(tr.stack[-1], tr.locals[ins.imm])


def global_slot(tr: FunctionTranslator, index: int):
    mc = tr.mc
    return load_at(
        tr.entry_builder, tr.vmctx, mc.layout.global_(index), PTR, mc.tbaa.vmctx,
        invariant=True, name=f"global{index}",
    )


@stateful("global.get")
def global_get(tr: FunctionTranslator, ins: Instr) -> None:
    gt = tr.mc.global_types[ins.imm]
    slot = global_slot(tr, ins.imm)
    v = tr.builder.load(slot, typ=llvm_type(gt.type), align=8 if gt.type.is_num else 16)
    v.set_metadata("tbaa", tr.mc.tbaa.global_)
    tr.stack.append(v)


@stateful("global.set")
def global_set(tr: FunctionTranslator, ins: Instr) -> None:
    gt = tr.mc.global_types[ins.imm]
    slot = global_slot(tr, ins.imm)
    st = tr.builder.store(tr.stack.pop(), slot, align=8 if gt.type.is_num else 16)
    st.set_metadata("tbaa", tr.mc.tbaa.global_)
