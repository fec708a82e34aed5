"""The component model (issue 18): components whose core modules aot compiles ahead of
time, instantiated and called through the canonical ABI.

    from aot.component import Component, Linker
    component = Component(open("greeter.wasm", "rb").read())
    linker = Linker()
    linker.root().func_wrap("log", print)
    instance = linker.instantiate(component)
    instance["greet"]("world")

`aot.component.abi` maps Python values to component values; `aot.component.binary`
decodes and validates component binaries."""

from aot.component.runtime import (
    Component,
    ComponentPoisonedError,
    Func,
    Instance,
    Linker,
    LinkerInstance,
)
from aot.component.values import Err, Ok, Some, Variant

__all__ = ["Component", "ComponentPoisonedError", "Err", "Func", "Instance", "Linker",
           "LinkerInstance", "Ok", "Some", "Variant"]
