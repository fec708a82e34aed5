"""Code that talks to CPython directly (`aot.abi.pyapi`): Python entries (Python ->
wasm as a `METH_FASTCALL` builtin) and the native half of host-call trampolines
(wasm -> Python with vectorcall).  CPython is reached only through the `aot_pyapi`
pointer table the loader fills."""

from __future__ import annotations

from llvmlite import ir

from aot.abi.pyapi import PYAPI_SIZE, PYOBJECT_TYPE_OFFSET, PyApi, PyEntryData
from aot.abi.signatures import I32_ARG_MAX, I32_ARG_MIN, values_slots
from aot.abi.vmctx import HostCtx
from aot.codegen.irutil import (
    alloca_bytes,
    gep_bytes,
    indirect_call,
    load_at,
    slot_load,
    slot_store,
)
from aot.codegen.llvmtypes import F32, F64, I32, I64, PTR, VOID
from aot.wasm.types import FuncType, ValType

# The C signature of each table entry used here.
_FNTY = {
    PyApi.PyLong_AsVoidPtr: ir.FunctionType(PTR, [PTR]),
    PyApi.PyLong_AsLongLongAndOverflow: ir.FunctionType(I64, [PTR, PTR]),
    PyApi.PyLong_FromLong: ir.FunctionType(PTR, [I64]),
    PyApi.PyLong_FromLongLong: ir.FunctionType(PTR, [I64]),
    PyApi.PyFloat_AsDouble: ir.FunctionType(F64, [PTR]),
    PyApi.PyFloat_FromDouble: ir.FunctionType(PTR, [F64]),
    PyApi.PyTuple_New: ir.FunctionType(PTR, [I64]),
    PyApi.PyTuple_SetItem: ir.FunctionType(I32, [PTR, I64, PTR]),
    PyApi.Py_IncRef: ir.FunctionType(VOID, [PTR]),
    PyApi.Py_DecRef: ir.FunctionType(VOID, [PTR]),
    PyApi.PyEval_SaveThread: ir.FunctionType(PTR, []),
    PyApi.PyEval_RestoreThread: ir.FunctionType(VOID, [PTR]),
    PyApi.PyGILState_Ensure: ir.FunctionType(I32, []),
    PyApi.PyGILState_Release: ir.FunctionType(VOID, [I32]),
    PyApi.PyObject_Vectorcall: ir.FunctionType(PTR, [PTR, PTR, I64, PTR]),
    PyApi.PyErr_Fetch: ir.FunctionType(VOID, [PTR, PTR, PTR]),
    PyApi.PyErr_NormalizeException: ir.FunctionType(VOID, [PTR, PTR, PTR]),
    PyApi.PyException_SetTraceback: ir.FunctionType(I32, [PTR, PTR]),
}

NULL = ir.Constant(PTR, None)


class PyApiTable:
    """The `aot_pyapi` table of one artifact and calls through it."""

    def __init__(self, module: ir.Module) -> None:
        ty = ir.ArrayType(PTR, PYAPI_SIZE)
        self.table = ir.GlobalVariable(module, ty, name="aot_pyapi")
        self.table.linkage = "internal"
        self.table.initializer = ir.Constant(ty, None)  # zero: filled at load time
        self.table.align = 8

    def addr(self, b: ir.IRBuilder, which: PyApi) -> ir.Value:
        # Written once by the loader before any call: invariant while code runs.
        return load_at(b, self.table, 8 * which, PTR, invariant=True)

    def call(self, b: ir.IRBuilder, which: PyApi, args: list[ir.Value]) -> ir.Value:
        return indirect_call(b, _FNTY[which], self.addr(b, which), args)

    def vectorcall(self, b: ir.IRBuilder, callable_: ir.Value, argv: list[ir.Value]) -> ir.Value:
        buf = alloca_bytes(b, 8 * max(len(argv), 1), align=8)
        for i, a in enumerate(argv):
            b.store(a, gep_bytes(b, buf, 8 * i), align=8)
        return self.call(b, PyApi.PyObject_Vectorcall,
                         [callable_, buf, ir.Constant(I64, len(argv)), NULL])

    def is_exact(self, b: ir.IRBuilder, obj: ir.Value, type_: PyApi) -> ir.Value:
        """`type(obj) is int` (or float): subclasses and bools take the portable path."""
        tp = load_at(b, obj, PYOBJECT_TYPE_OFFSET, PTR)
        return b.icmp_unsigned("==", tp, self.addr(b, type_))

    # --- conversions -----------------------------------------------------------------

    def from_python(self, b: ir.IRBuilder, obj: ir.Value, t: ValType, slow: ir.Block,
                    overflow: ir.Value) -> ir.Value:
        """The value of `obj` when it is the plain case for a slot of type `t`; anything
        else branches to `slow`."""
        fn = b.function
        if t in (ValType.F32, ValType.F64):
            ok = fn.append_basic_block("float")
            b.cbranch(self.is_exact(b, obj, PyApi.PyFloat_Type), ok, slow)
            b.position_at_end(ok)
            d = self.call(b, PyApi.PyFloat_AsDouble, [obj])
            return b.fptrunc(d, F32) if t == ValType.F32 else d
        ok = fn.append_basic_block("int")
        b.cbranch(self.is_exact(b, obj, PyApi.PyLong_Type), ok, slow)
        b.position_at_end(ok)
        v = self.call(b, PyApi.PyLong_AsLongLongAndOverflow, [obj, overflow])
        fits = b.icmp_signed("==", b.load(overflow, typ=I32), ir.Constant(I32, 0))
        if t == ValType.I32:
            fits = b.and_(fits, b.icmp_signed(">=", v, ir.Constant(I64, I32_ARG_MIN)))
            fits = b.and_(fits, b.icmp_signed("<=", v, ir.Constant(I64, I32_ARG_MAX)))
        done = fn.append_basic_block("int.ok")
        b.cbranch(fits, done, slow)
        b.position_at_end(done)
        return b.trunc(v, I32) if t == ValType.I32 else v

    def to_python(self, b: ir.IRBuilder, v: ir.Value, t: ValType) -> ir.Value:
        """A new reference to the Python value of `v` (i32 comes back signed)."""
        if t == ValType.I32:
            return self.call(b, PyApi.PyLong_FromLong, [b.sext(v, I64)])
        if t == ValType.I64:
            return self.call(b, PyApi.PyLong_FromLongLong, [v])
        if t == ValType.F32:
            return self.call(b, PyApi.PyFloat_FromDouble, [b.fpext(v, F64)])
        return self.call(b, PyApi.PyFloat_FromDouble, [v])


def define_python_entry(mc, api: PyApiTable, ft: FuncType, type_index: int,
                        array_entry: ir.Function) -> ir.Function:
    """`PyObject *entry(PyObject *self, PyObject *const *args, Py_ssize_t nargs)`."""
    fn = ir.Function(mc.ir, ir.FunctionType(PTR, [PTR, PTR, I64]), name=f"aot_pyentry_t{type_index}")
    fn.linkage = "internal"
    mc.set_function_attrs(fn)
    self_, args, nargs = fn.args
    b = mc.builder(fn, fn.append_basic_block("entry"))
    fallback = fn.append_basic_block("fallback")
    data = api.call(b, PyApi.PyLong_AsVoidPtr, [self_])
    values = alloca_bytes(b, 16 * values_slots(ft), name="values")
    overflow = b.alloca(I32, name="overflow")
    convert = fn.append_basic_block("convert")
    b.cbranch(b.icmp_signed("==", nargs, ir.Constant(I64, len(ft.params))), convert, fallback)
    b.position_at_end(convert)
    for i, t in enumerate(ft.params):
        obj = b.load(gep_bytes(b, args, 8 * i), typ=PTR, align=8)
        v = api.from_python(b, obj, t, fallback, overflow)
        slot_store(b, v, values, i)

    callee = load_at(b, data, PyEntryData.CALLEE, PTR)
    tstate = api.call(b, PyApi.PyEval_SaveThread, [])
    status = b.call(array_entry, [callee, values])
    api.call(b, PyApi.PyEval_RestoreThread, [tstate])
    _branch_on_status(mc, api, b, data, status)
    results = [api.to_python(b, slot_load(b, values, i, t), t) for i, t in enumerate(ft.results)]
    if not results:
        none = api.addr(b, PyApi.Py_NoneStruct)
        api.call(b, PyApi.Py_IncRef, [none])
        b.ret(none)
    elif len(results) == 1:
        b.ret(results[0])  # null with MemoryError set, as CPython wants
    else:
        tup = api.call(b, PyApi.PyTuple_New, [ir.Constant(I64, len(results))])
        failed = fn.append_basic_block("no_memory")
        fill = fn.append_basic_block("fill")
        any_null = b.icmp_unsigned("==", tup, NULL)
        for r in results:
            any_null = b.or_(any_null, b.icmp_unsigned("==", r, NULL))
        b.cbranch(any_null, failed, fill)
        fb = mc.builder(fn, failed)
        for obj in (tup, *results):
            api.call(fb, PyApi.Py_DecRef, [obj])
        fb.ret(NULL)
        b.position_at_end(fill)
        for i, r in enumerate(results):
            api.call(b, PyApi.PyTuple_SetItem, [tup, ir.Constant(I64, i), r])  # steals r
        b.ret(tup)

    # Anything but the plain case: the portable path converts or raises, exactly.
    fb = mc.builder(fn, fallback)
    fb.ret(api.call(fb, PyApi.PyObject_Vectorcall,
                    [load_at(fb, data, PyEntryData.FALLBACK, PTR), args, nargs, NULL]))
    return fn


def _branch_on_status(mc, api: PyApiTable, b: ir.IRBuilder, data: ir.Value, status: ir.Value) -> None:
    """A nonzero status goes to the record's raiser (which raises: return null);
    `b` continues on success."""
    fn = b.function
    trapped = fn.append_basic_block("trapped")
    ok = fn.append_basic_block("ok")
    b.cbranch(b.icmp_unsigned("!=", status, ir.Constant(I32, 0)), trapped, ok)
    tb = mc.builder(fn, trapped)
    code = api.call(tb, PyApi.PyLong_FromLong, [tb.zext(status, I64)])
    raised = api.vectorcall(tb, load_at(tb, data, PyEntryData.RAISER, PTR), [code])
    api.call(tb, PyApi.Py_DecRef, [code])
    api.call(tb, PyApi.Py_DecRef, [raised])  # null: the raiser raised, as it always does
    tb.ret(NULL)
    b.position_at_end(ok)


def define_unchecked_entry(mc, api: PyApiTable) -> ir.Function:
    """`PyObject *unchecked(PyObject *self, PyObject *const *args, Py_ssize_t nargs)`:
    the record's entry on the record's buffer, no conversion, no check but the count."""
    fn = ir.Function(mc.ir, ir.FunctionType(PTR, [PTR, PTR, I64]), name="aot_pyentry_unchecked")
    fn.linkage = "internal"
    mc.set_function_attrs(fn)
    self_, args, nargs = fn.args
    b = mc.builder(fn, fn.append_basic_block("entry"))
    data = api.call(b, PyApi.PyLong_AsVoidPtr, [self_])
    run = fn.append_basic_block("run")
    fallback = fn.append_basic_block("fallback")
    b.cbranch(b.icmp_signed("==", nargs, ir.Constant(I64, 0)), run, fallback)
    fb = mc.builder(fn, fallback)  # raises the TypeError for arguments
    fb.ret(api.call(fb, PyApi.PyObject_Vectorcall,
                    [load_at(fb, data, PyEntryData.FALLBACK, PTR), args, nargs, NULL]))
    b.position_at_end(run)
    entry = load_at(b, data, PyEntryData.ENTRY, PTR)
    tstate = api.call(b, PyApi.PyEval_SaveThread, [])
    status = indirect_call(b, ir.FunctionType(I32, [PTR, PTR]), entry,
                           [load_at(b, data, PyEntryData.CALLEE, PTR),
                            load_at(b, data, PyEntryData.VALUES, PTR)])
    api.call(b, PyApi.PyEval_RestoreThread, [tstate])
    _branch_on_status(mc, api, b, data, status)
    none = api.addr(b, PyApi.Py_NoneStruct)
    api.call(b, PyApi.Py_IncRef, [none])
    b.ret(none)
    return fn


def emit_native_host_call(mc, api: PyApiTable, b: ir.IRBuilder, ft: FuncType, host_ctx: ir.Value,
                          params: list[ir.Value], values: ir.Value,
                          raise_host_exception) -> ir.IRBuilder:
    """In a host-call trampoline (at `b`): call the host's Python callable directly when
    the VMHostContext has one, leaving the results in `values`; otherwise continue at
    `b` (moved to the cffi callback path).  Returns a builder at the end of the native
    path, for the caller to join the two.  `raise_host_exception(builder)` emits the
    unwind for a failed call."""
    fn = b.function
    overflow = b.alloca(I32, name="overflow")
    py_callable = load_at(b, host_ctx, HostCtx.PY_CALLABLE, PTR)
    native = fn.append_basic_block("py.native")
    cffi_path = fn.append_basic_block("py.cffi")
    b.cbranch(b.icmp_unsigned("!=", py_callable, NULL), native, cffi_path)

    nb = mc.builder(fn, native)
    failed = fn.append_basic_block("py.failed")
    gil = api.call(nb, PyApi.PyGILState_Ensure, [])
    argv = [api.to_python(nb, p, t) for p, t in zip(params, ft.params)]
    args_ok = fn.append_basic_block("py.call")
    any_null = ir.Constant(ir.IntType(1), 0)
    for a in argv:
        any_null = nb.or_(any_null, nb.icmp_unsigned("==", a, NULL))
    nb.cbranch(any_null, failed, args_ok)  # MemoryError: unwind as for any exception
    nb.position_at_end(args_ok)
    result = api.vectorcall(nb, py_callable, argv)
    for a in argv:
        api.call(nb, PyApi.Py_DecRef, [a])
    returned = fn.append_basic_block("py.returned")
    nb.cbranch(nb.icmp_unsigned("==", result, NULL), failed, returned)

    nb.position_at_end(returned)
    done = fn.append_basic_block("py.done")
    if len(ft.results) == 1:
        slow = fn.append_basic_block("py.slow_result")
        v = api.from_python(nb, result, ft.results[0], slow, overflow)
        nb.store(v, values, align=8)
        api.call(nb, PyApi.Py_DecRef, [result])
        nb.branch(done)
        nb.position_at_end(slow)
    if ft.results:
        # Tuples, conversions and their errors: the Python side, exactly as on cffi.
        where = api.call(nb, PyApi.PyLong_FromLongLong, [nb.ptrtoint(values, I64)])
        r2 = api.vectorcall(nb, load_at(nb, host_ctx, HostCtx.PY_RESULTS, PTR), [result, where])
        api.call(nb, PyApi.Py_DecRef, [where])
        api.call(nb, PyApi.Py_DecRef, [result])
        converted = fn.append_basic_block("py.converted")
        nb.cbranch(nb.icmp_unsigned("==", r2, NULL), failed, converted)
        nb.position_at_end(converted)
        api.call(nb, PyApi.Py_DecRef, [r2])
        nb.branch(done)
    else:
        api.call(nb, PyApi.Py_DecRef, [result])
        nb.branch(done)

    eb = mc.builder(fn, failed)
    exc = [eb.alloca(PTR, name=n) for n in ("type", "value", "traceback")]
    for p in exc:
        eb.store(NULL, p)
    api.call(eb, PyApi.PyErr_Fetch, exc)
    api.call(eb, PyApi.PyErr_NormalizeException, exc)
    value = eb.load(exc[1], typ=PTR)
    trace = eb.load(exc[2], typ=PTR)
    with eb.if_then(eb.icmp_unsigned("!=", trace, NULL)):
        api.call(eb, PyApi.PyException_SetTraceback, [value, trace])
    # The Python side keeps the exception for the entry that unwinds to re-raise.
    r = api.vectorcall(eb, load_at(eb, host_ctx, HostCtx.PY_ON_ERROR, PTR), [value])
    api.call(eb, PyApi.Py_DecRef, [r])
    for p in exc:
        api.call(eb, PyApi.Py_DecRef, [eb.load(p, typ=PTR)])
    api.call(eb, PyApi.PyGILState_Release, [gil])
    raise_host_exception(eb)

    fin = mc.builder(fn, done)
    api.call(fin, PyApi.PyGILState_Release, [gil])
    b.position_at_end(cffi_path)
    return fin
