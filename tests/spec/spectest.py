"""The `spectest` host module every script may import from (as the reference interpreter
defines it)."""

from __future__ import annotations

from types import ModuleType


def spectest_module(eng: ModuleType) -> dict[str, object]:
    """Fresh spectest externs, made with `eng`'s (aot's) host-object constructors."""
    V = eng.ValType

    def func(*params: object) -> object:
        return eng.Func(eng.FuncType(tuple(params), ()), _ignore)

    def glob(vt: object, value: object) -> object:
        return eng.Global(eng.GlobalType(vt, mutable=False), value)

    return {
        "print": func(),
        "print_i32": func(V.I32),
        "print_i64": func(V.I64),
        "print_f32": func(V.F32),
        "print_f64": func(V.F64),
        "print_i32_f32": func(V.I32, V.F32),
        "print_f64_f64": func(V.F64, V.F64),
        "global_i32": glob(V.I32, 666),
        "global_i64": glob(V.I64, 666),
        "global_f32": glob(V.F32, 666.6),
        "global_f64": glob(V.F64, 666.6),
        "table": eng.Table(eng.TableType(V.FUNCREF, eng.Limits(10, 20))),
        "memory": eng.Memory(eng.MemoryType(eng.Limits(1, 2))),
    }


def _ignore(*args: object) -> None:
    """The print functions print nothing: the output is not part of any test."""
