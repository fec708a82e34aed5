"""Components at run time: compile a component's core modules, run its instantiation
graph, and call across the boundary through the canonical ABI.

`Component(wasm)` decodes and validates the component and compiles every core module in
it with aot's compiler (each through the artifact cache, like `aot.compile`).
`Linker.instantiate(component)` walks the component's definitions in binary order —
core instantiations, aliases, `canon lower` (a host or component function made a core
function), `canon lift` (a core function made a component `Func`), resources, nested
components — in one store.  A `Func` lowers its Python arguments into the callee's
memory (`realloc`), calls the core function, lifts the results, then runs
`post-return`.  A trap poisons the instance (the spec's `may_enter`): every later call
into it raises `ComponentPoisonedError`."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from aot.component import abi
from aot.component import model as m
from aot.component.artifact import core_modules, read_component_artifact, write_component_artifact
from aot.component.binary import decode_component
from aot.component.types import FuncType, ResourceType
from aot.errors import AotError, LinkError, NotSupportedError, Trap
from aot.wasm.types import ValType as CoreValType


class ComponentPoisonedError(AotError):
    """A call into a component instance after one of its calls trapped (the canonical
    ABI's `may_enter` is cleared for good: the instance's state may be inconsistent)."""


class Component:
    """A compiled component: its decoded definitions and its core modules compiled.
    `options` are `aot.compile`'s (opt_level, cache, ...), applied to every core module;
    `more_flags` accepts flags types of more than 32 members (`decode_component`)."""

    def __init__(self, wasm: bytes | bytearray | memoryview | str | os.PathLike, *,
                 more_flags: bool = False, **options: Any) -> None:
        import aot

        if isinstance(wasm, (str, os.PathLike)):
            if isinstance(wasm, str) and wasm.lstrip().startswith("("):
                raise NotSupportedError("the component text format: give the component's "
                                        "binary (`wasm-tools parse`)")
            wasm = Path(wasm).read_bytes()
        data = bytes(wasm)
        if data[:4] == b"\x7fELF":  # a component artifact (`aot compile comp.wasm`)
            data, cores = read_component_artifact(data)  # type: ignore[misc]
            self.model = decode_component(data, more_flags)
            self._modules = {id(mod): aot.Module.deserialize(core) for mod, core in
                             zip(core_modules(self.model), cores, strict=True)}
        else:
            self.model = decode_component(data, more_flags)
            self._modules = {id(mod): aot.compile(mod.data, **options)
                             for mod in core_modules(self.model)}
        self._binary = data

    def serialize(self) -> bytes:
        """The component artifact (`aot compile comp.wasm -o comp.so` writes the same):
        give its bytes or a path to `Component` to load it without compiling."""
        return write_component_artifact(
            self._binary, [self._modules[id(mod)].serialize() for mod in core_modules(self.model)])

    def core_module(self, mod: m.CoreModule):
        return self._modules[id(mod)]

    @property
    def imports(self) -> list[tuple[str, m.ExternType]]:
        return [(i.name, i.extern) for i in self.model.imports]

    @property
    def exports(self) -> list[tuple[str, m.ExternType]]:
        return [(e.name, e.extern) for e in self.model.exports]

    def describe(self) -> str:
        from aot.component.binary import describe

        return describe(self.model)


class LinkerInstance:
    """A level of the linker's namespace: host functions and nested instances by name
    (an interface such as `wasi:cli/stdout@0.2.0` is an instance)."""

    def __init__(self) -> None:
        self._items: dict[str, Any] = {}

    def func_wrap(self, name: str, fn: Callable[..., Any]) -> None:
        """Define host function `name`: called with lifted Python values; its return
        value (a tuple for several named results) is lowered back."""
        self._items[name] = HostFunc(name, fn)

    def resource(self, name: str, dtor: Callable[[int], Any] | None = None) -> HostResource:
        """Define the resource type a component imports as `name` (`(sub resource)`):
        the host creates its values with `.new(rep)`; `dtor(rep)` runs when the last
        owner drops one."""
        item = self._items[name] = HostResource(name, dtor)
        return item

    def instance(self, name: str) -> LinkerInstance:
        item = self._items.get(name)
        if item is None:
            item = self._items[name] = LinkerInstance()
        if not isinstance(item, LinkerInstance):
            raise LinkError(f"{name!r} is already defined as a function")
        return item

    def get(self, name: str) -> Any:
        return self._items.get(name)

    def __getitem__(self, name: str) -> Any:
        item = self._items.get(name)
        if item is None:
            raise LinkError(f"the linker instance defines no {name!r}")
        return item


class Linker:
    """Host definitions for components' imports, and instantiation."""

    def __init__(self) -> None:
        self._root = LinkerInstance()

    def root(self) -> LinkerInstance:
        return self._root

    def instantiate(self, component: Component, store=None) -> Instance:
        import aot

        store = store if store is not None else aot.Store()
        imports = {}
        for imp in component.model.imports:
            if imp.sort == m.Sort.TYPE and not isinstance(imp.type, ResourceType):
                continue  # a type import bounded by `eq`: the type itself, nothing to supply
            item = self._root.get(imp.name)
            if item is None:
                raise LinkError(f"component import {imp.name!r} ({imp.sort}) is not defined "
                                "in the linker")
            if isinstance(imp.type, ResourceType):
                if not isinstance(item, HostResource):
                    raise LinkError(f"component import {imp.name!r} is a resource type: "
                                    "define it with LinkerInstance.resource()")
                item.bind(imp.type)
            _bind_instance_resources(imp, item)
            imports[imp.name] = item
        return Instance(component, store, imports)


def _bind_instance_resources(imp: m.Import, item: Any) -> None:
    """An imported instance's resource types, bound to the linker's host resources of
    the same names."""
    if not isinstance(imp.type, m.InstanceType) or not isinstance(item, LinkerInstance):
        return
    for name, extern in imp.type.exports:
        if isinstance(extern.type, ResourceType):
            host = item.get(name)
            if not isinstance(host, HostResource):
                raise LinkError(f"resource {name!r} of instance {imp.name!r}: define it with "
                                "LinkerInstance.resource()")
            host.bind(extern.type)


class HostResource:
    """A host-defined resource type, bound at instantiation to the resource type the
    component imports under its name."""

    def __init__(self, name: str, dtor: Callable[[int], Any] | None) -> None:
        self.name = name
        self.dtor = dtor
        self.type: ResourceType | None = None

    def bind(self, rt: ResourceType) -> None:
        if self.type is not None and self.type is not rt:
            raise LinkError(f"host resource {self.name!r} is already bound to another "
                            "component's import")
        self.type = rt

    def new(self, rep: int) -> abi.Resource:
        """A new resource the host owns, with representation `rep`."""
        if self.type is None:
            raise LinkError(f"host resource {self.name!r}: no component imports it yet")
        return abi.Resource(self.type, rep, dtor=self.dtor)


class HostFunc:
    """A host function given to the linker; its component type comes from the import."""

    def __init__(self, name: str, fn: Callable[..., Any]) -> None:
        if not callable(fn):
            raise TypeError(f"host function {name!r} must be callable")
        self.name = name
        self.fn = fn

    def call(self, args: list[Any], ft: FuncType) -> list[Any]:
        result = self.fn(*args)
        n = len(ft.result_types())
        if n == 0:
            return []
        if n == 1:
            return [result]
        return list(result)


class Instance:
    """An instantiated component: `exports[name]` is a `Func`, or a dict of the exports
    of an exported instance."""

    def __init__(self, component: Component, store, imports: Mapping[str, Any]) -> None:
        self.store = store
        self.may_enter = True
        self.state = abi.InstanceState()
        self.exports = _Instantiation(component, self, component.model, imports).run()

    def __getitem__(self, name: str) -> Any:
        return self.exports[name]


class Func:
    """A component function (a `canon lift` of a core function): call it with Python
    values (see `aot.component.abi` for the mapping)."""

    def __init__(self, owner: Instance, name: str, ft: FuncType, core: Any,
                 options: abi.LiftLowerOptions, post_return: Any) -> None:
        self.owner = owner
        self.name = name
        self.type = ft
        self._core = core
        self._options = options
        self._post_return = post_return
        self._param_types = tuple(t for _n, t in ft.params)
        self._result_types = ft.result_types()
        self._where = [f"parameter {n!r}" for n, _t in ft.params]

    def __call__(self, *args: Any) -> Any:
        results = self.call(list(args))
        if not self._result_types:
            return None
        return results[0] if len(results) == 1 else tuple(results)

    def call(self, args: list[Any]) -> list[Any]:
        owner = self.owner
        if not owner.may_enter:
            raise ComponentPoisonedError(
                f"cannot call {self.name!r}: an earlier call into this component instance "
                "trapped, which leaves it unusable")
        task = abi.Task()  # borrows lent to the callee for this call
        cx = abi.LiftLowerContext(self._options, owner.state, task)
        flat = abi.lower_values(cx, args, self._param_types, abi.MAX_FLAT_PARAMS,
                                where=self._where)
        try:
            core_results = self._core(*flat)
            core_list = [] if core_results is None else (
                list(core_results) if isinstance(core_results, tuple) else [core_results])
            results = abi.lift_values(cx, abi.MAX_FLAT_RESULTS, core_list, self._result_types)
            if not isinstance(results, list):
                results = list(results)
            # Lists are read before post-return frees them.
            results = [_materialize(v) for v in results]
            task.finish()
            if self._post_return is not None:
                self._post_return(*core_list)
        except Trap:
            owner.may_enter = False
            raise
        return results

    def __repr__(self) -> str:
        return f"<aot.component.Func {self.name}>"


def _materialize(value: Any) -> Any:
    """A value that stays valid after post-return: lazy lists read into Python lists."""
    if isinstance(value, abi.WasmList):
        return [_materialize(v) for v in value.tolist()]
    if isinstance(value, dict):
        return {k: _materialize(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return tuple(_materialize(v) for v in value)
    return value


_CORE = {CoreValType.I32: "i32", CoreValType.I64: "i64", CoreValType.F32: "f32",
         CoreValType.F64: "f64"}


class _Instantiation:
    """Runs one component's definitions in order, giving each its run-time value."""

    def __init__(self, component: Component, instance: Instance, model: m.Component,
                 imports: Mapping[str, Any], outer: _Instantiation | None = None) -> None:
        self.component = component
        self.instance = instance
        self.model = model
        self.imports = imports
        self.outer = outer
        self.values: dict[int, Any] = {}

    def run(self) -> dict[str, Any]:
        for d in self.model.definitions:
            self.value(d)
        for start in self.model.starts:
            self.value(self.model.funcs[start.func]).call([])
        return {e.name: self.value(e) for e in self.model.exports}

    def at(self, sort: m.Sort, index: int) -> Any:
        return self.value(self.model.space(sort)[index])

    def value(self, d: Any) -> Any:
        key = id(d)
        if key not in self.values:
            self.values[key] = self._evaluate(d)
        return self.values[key]

    def _evaluate(self, d: Any) -> Any:
        handler = _HANDLERS.get(type(d))
        if handler is None:
            return None  # types and start definitions have no run-time value
        return handler(self, d)

    # --- one method per definition kind ---

    def core_module(self, d: m.CoreModule):
        return self.component.core_module(d)

    def core_instantiate(self, d: m.CoreInstantiate):
        module = self.at(m.Sort.CORE_MODULE, d.module)
        args = {name: self.at(m.Sort.CORE_INSTANCE, idx) for name, idx in d.args}
        imports = {}
        for mod_name, name, _extern in self.model.core_modules[d.module].type.imports:
            source = args.get(mod_name)
            if source is None:
                raise LinkError(f"core instantiation: no instance for import module {mod_name!r}")
            imports.setdefault(mod_name, {})[name] = _core_export(source, name)
        return module.instantiate(imports, store=self.instance.store)

    def core_inline_exports(self, d: m.CoreInlineExports):
        return {name: self.at(sort, idx) for name, sort, idx in d.exports}

    def alias_core_export(self, d: m.AliasCoreExport):
        return _core_export(self.at(m.Sort.CORE_INSTANCE, d.instance), d.name)

    def alias_export(self, d: m.AliasExport):
        if d.sort == m.Sort.TYPE and not isinstance(d.type, ResourceType):
            # A value type (record, enum...) is its own value, as a type_def's is: a host
            # instance (LinkerInstance) defines only functions and resources.
            return d.type
        inst = self.at(m.Sort.INSTANCE, d.instance)
        return inst[d.name]

    def alias_outer(self, d: m.AliasOuter):
        scope = self
        for _ in range(d.count):
            scope = scope.outer
        return scope.value(d.target) if scope is not None else None

    def import_(self, d: m.Import):
        return self.imports.get(d.name)

    def export(self, d: m.Export):
        return self.at(d.sort, d.index)

    def inline_exports(self, d: m.InlineExports):
        return {name: self.at(sort, idx) for name, sort, idx in d.exports}

    def instantiate(self, d: m.Instantiate):
        nested = self.at(m.Sort.COMPONENT, d.component)
        args = {name: self.at(sort, idx) for name, sort, idx in d.args}
        return _Instantiation(self.component, self.instance, nested, args, self).run()

    def type_def(self, d: m.TypeDef):
        rt = d.type
        if isinstance(rt, ResourceType):  # defined here: this instance implements it
            state = self.instance.state
            state.implements.add(rt)
            if rt.dtor is not None and rt not in state.destructors:
                dtor = self.at(m.Sort.CORE_FUNC, rt.dtor)
                state.destructors[rt] = lambda rep: dtor(rep)  # type: ignore[index]
        return rt

    def nested_component(self, d: m.Component):
        return d

    def canon_lift(self, d: m.CanonLift) -> Func:
        opts = self._options(d.options)
        post = self.at(m.Sort.CORE_FUNC, d.options.post_return) \
            if d.options.post_return is not None else None
        name = next((e.name for e in self.model.exports
                     if e.sort == m.Sort.FUNC and self.model.funcs[e.index] is d), "func")
        return Func(self.instance, name, d.type, self.at(m.Sort.CORE_FUNC, d.core_func),
                    opts, post)

    def canon_lower(self, d: m.CanonLower):
        import aot

        callee = self.at(m.Sort.FUNC, d.func)
        ft: FuncType = self.model.funcs[d.func].type
        opts = self._options(d.options)
        instance = self.instance
        params = tuple(t for _n, t in ft.params)
        results = ft.result_types()
        sig = abi.flatten_functype(ft, "lower")
        out_param = len(sig.params) > len(abi.flatten_types(params)) or (
            len(abi.flatten_types(results)) > abi.MAX_FLAT_RESULTS)

        def lowered(*core_args):
            if not instance.may_enter:
                raise ComponentPoisonedError("a call into a trapped component instance")
            subtask = abi.Subtask()  # the guest's handles the host borrows for this call
            cx = abi.LiftLowerContext(opts, instance.state, subtask)
            args_in = list(core_args[:-1]) if out_param and results else list(core_args)
            values = abi.lift_values(cx, abi.MAX_FLAT_PARAMS, args_in, params)
            values = [_materialize(v) for v in values]
            out = callee.call(values, ft) if isinstance(callee, HostFunc) else callee.call(values)
            flat = abi.lower_values(cx, out, results, abi.MAX_FLAT_RESULTS,
                                    out_param=core_args[-1] if out_param and results else None)
            subtask.finish()
            if not flat:
                return None
            return flat[0] if len(flat) == 1 else tuple(flat)

        return aot.Func(d.type, lowered, name=f"canon lower {d.func}")

    def canon_resource(self, d: m.CanonResource):
        import aot

        state = self.instance.state
        rt = d.resource_type
        op = {"resource.new": lambda rep: state.resource_new(rt, rep),
              "resource.rep": lambda h: state.resource_rep(rt, h),
              "resource.drop": lambda h: state.resource_drop(rt, h)}[d.op]
        return aot.Func(d.type, op, name=d.op)

    def _options(self, o: m.CanonOptions) -> abi.LiftLowerOptions:
        memory = self.at(m.Sort.CORE_MEMORY, o.memory) if o.memory is not None else None
        realloc = None
        if o.realloc is not None:
            core_realloc = self.at(m.Sort.CORE_FUNC, o.realloc)

            def realloc(old_ptr: int, old_size: int, align: int, new_size: int) -> int:
                return core_realloc(old_ptr, old_size, align, new_size)
        return abi.LiftLowerOptions(memory=memory, string_encoding=o.string_encoding,
                                    realloc=realloc)


def _core_export(source: Any, name: str) -> Any:
    try:
        return source[name]
    except (KeyError, AttributeError, TypeError):
        pass
    exports = getattr(source, "exports", None)
    if exports is not None:
        try:
            return exports[name]
        except (KeyError, AttributeError):
            pass
    raise LinkError(f"core instance has no export {name!r}")


_HANDLERS: dict[type, Callable[[_Instantiation, Any], Any]] = {
    m.CoreModule: _Instantiation.core_module,
    m.CoreInstantiate: _Instantiation.core_instantiate,
    m.CoreInlineExports: _Instantiation.core_inline_exports,
    m.AliasCoreExport: _Instantiation.alias_core_export,
    m.AliasExport: _Instantiation.alias_export,
    m.AliasOuter: _Instantiation.alias_outer,
    m.Import: _Instantiation.import_,
    m.Export: _Instantiation.export,
    m.InlineExports: _Instantiation.inline_exports,
    m.Instantiate: _Instantiation.instantiate,
    m.Component: _Instantiation.nested_component,
    m.TypeDef: _Instantiation.type_def,
    m.CanonLift: _Instantiation.canon_lift,
    m.CanonLower: _Instantiation.canon_lower,
    m.CanonResource: _Instantiation.canon_resource,
}

__all__ = ["Component", "ComponentPoisonedError", "Func", "HostResource", "Instance", "Linker",
           "LinkerInstance"]
