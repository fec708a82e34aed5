"""Reference instructions: ref.null, ref.is_null, ref.func.  A reference is a pointer:
a funcref is a `VMFuncRef *`, an externref an opaque host handle, null is 0."""

from __future__ import annotations

from llvmlite import ir

from aot.codegen.function import FunctionTranslator
from aot.codegen.irutil import gep_bytes
from aot.codegen.llvmtypes import I32, PTR
from aot.codegen.ops.registry import stateful
from aot.wasm.instr import Instr


@stateful("ref.null")
def ref_null(tr: FunctionTranslator, ins: Instr) -> None:
    tr.stack.append(ir.Constant(PTR, None))


@stateful("ref.is_null")
def ref_is_null(tr: FunctionTranslator, ins: Instr) -> None:
    b = tr.builder
    ref = tr.stack.pop()
    tr.stack.append(b.zext(b.icmp_unsigned("==", ref, ir.Constant(PTR, None)), I32))


@stateful("ref.func")
def ref_func(tr: FunctionTranslator, ins: Instr) -> None:
    # The function's VMFuncRef lives in this instance's VMContext: its address is the ref.
    tr.stack.append(gep_bytes(tr.builder, tr.vmctx, tr.mc.layout.func_ref(ins.imm)))
