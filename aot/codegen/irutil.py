"""Small llvmlite helpers: field access at ABI offsets, attributes llvmlite lacks."""

from __future__ import annotations

from llvmlite import ir

from aot.codegen.llvmtypes import I8, I32, I64, PTR, const_i64, llvm_type
from aot.wasm.types import ValType


def gep_bytes(b: ir.IRBuilder, base: ir.Value, offset: int | ir.Value, name: str = "") -> ir.Value:
    """`base + offset` as a pointer (byte arithmetic)."""
    if isinstance(offset, int):
        if offset == 0:
            return base
        offset = const_i64(offset)
    return b.gep(base, [offset], source_etype=I8, inbounds=True, name=name)


def slot_load(b: ir.IRBuilder, values: ir.Value, index: int, t: ValType) -> ir.Value:
    """Value slot `index` of a ValRaw buffer (16 bytes a slot, `aot.abi.signatures`)."""
    return b.load(gep_bytes(b, values, 16 * index), typ=llvm_type(t), align=8)


def slot_store(b: ir.IRBuilder, v: ir.Value, values: ir.Value, index: int) -> None:
    b.store(v, gep_bytes(b, values, 16 * index), align=8)


def set_string_attr(fn: ir.Function, key: str, value: str) -> None:
    """Add a `"key"="value"` function attribute (llvmlite only knows enum attributes)."""
    set.add(fn.attributes, f'"{key}"="{value}"')


def set_raw_attr(fn: ir.Function, text: str) -> None:
    """Add a function attribute llvmlite does not list (printed verbatim)."""
    set.add(fn.attributes, text)


class Tbaa:
    """Type-based alias analysis tags.

    Loads of VMContext fields, memory/table definitions and globals can never alias a
    linear-memory access; telling LLVM so lets it keep the memory base in a register
    across wasm stores instead of reloading it after each one."""

    def __init__(self, module: ir.Module) -> None:
        root = module.add_metadata(["aot tbaa"])
        self._module = module
        self._root = root
        self.vmctx = self._tag("vmctx")  # VMContext fields: never written by wasm code
        self.runtime = self._tag("runtime")  # memory/table definitions, store context
        self.table = self._tag("table elements")
        self.global_ = self._tag("global")
        self.heap = self._tag("linear memory")

    def _tag(self, name: str) -> ir.MDValue:
        ty = self._module.add_metadata([name, self._root, ir.Constant(I64, 0)])
        return self._module.add_metadata([ty, ty, ir.Constant(I64, 0)])


def load_at(
    b: ir.IRBuilder,
    base: ir.Value,
    offset: int | ir.Value,
    ty: ir.Type,
    tbaa: ir.MDValue | None = None,
    invariant: bool = False,
    name: str = "",
) -> ir.Instruction:
    ptr = gep_bytes(b, base, offset)
    align = 8 if ty in (I64, PTR) else 4 if ty == I32 else 1
    inst = b.load(ptr, typ=ty, align=align, name=name)
    if tbaa is not None:
        inst.set_metadata("tbaa", tbaa)
    if invariant:
        inst.set_metadata("invariant.load", empty_node(b.module))
    return inst


def store_at(
    b: ir.IRBuilder,
    value: ir.Value,
    base: ir.Value,
    offset: int | ir.Value,
    tbaa: ir.MDValue | None = None,
) -> ir.Instruction:
    ptr = gep_bytes(b, base, offset)
    ty = value.type
    align = 8 if ty in (I64, PTR) else 4 if ty == I32 else 1
    inst = b.store(value, ptr, align=align)
    if tbaa is not None:
        inst.set_metadata("tbaa", tbaa)
    return inst


def empty_node(module: ir.Module) -> ir.MDValue:
    """The module's `!{}`, made once: llvmlite's `add_metadata` hashes its operands on
    every call to find the node it made before."""
    node = module.__dict__.get("_aot_empty_node")
    if node is None:
        node = module.__dict__["_aot_empty_node"] = module.add_metadata([])
    return node


class _FunctionPointer(ir.values.Value):
    """A pointer value seen as a callee: llvmlite reads the callee's function type from
    `callee.function_type`, which an opaque pointer does not carry."""

    def __init__(self, value: ir.Value, fnty: ir.FunctionType) -> None:
        self._value = value
        self.type = value.type
        self.function_type = fnty

    def get_reference(self) -> str:
        return self._value.get_reference()


def indirect_call(
    b: ir.IRBuilder, fnty: ir.FunctionType, fp: ir.Value, args: list[ir.Value], name: str = "",
    cconv: str | None = None, tail: bool | str = False,
) -> ir.Instruction:
    """Call through a function pointer of type `fnty`."""
    return b.call(_FunctionPointer(fp, fnty), args, name=name, cconv=cconv, tail=tail)


def alloca_bytes(b: ir.IRBuilder, size: int, align: int = 16, name: str = "") -> ir.Instruction:
    """A stack buffer of `size` bytes, typed as an opaque pointer (llvmlite would type it
    `[size x i8]*` and then refuse stores of other types through it)."""
    inst = b.alloca(ir.ArrayType(I8, size), name=name)
    inst.align = align
    inst.type = PTR
    return inst


def store_atomic(b: ir.IRBuilder, value: ir.Value, ptr: ir.Value, ordering: str = "monotonic",
                 align: int = 8) -> ir.Instruction:
    """An atomic store (llvmlite's own `store_atomic` expects typed pointers)."""
    if not isinstance(b, ir.IRBuilder):  # the lean builder (`aot.codegen.leanir`)
        return b.store_atomic(value, ptr, ordering, align)
    st = ir.instructions.StoreAtomicInstr(b.block, value, ptr, ordering, align)
    b._insert(st)
    return st
