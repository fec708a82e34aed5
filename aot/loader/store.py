"""A Store: the unit of isolation.  Instances that call each other share one, and with
it the execution state compiled code reads (stack limit, trap landing point)."""

from __future__ import annotations

from aot.loader.ffi import ffi
from aot.loader.refs import RefContext

DEFAULT_MAX_WASM_STACK = 512 * 1024  # bytes, as wasmtime


class Store:
    """Owns the instances created in it; they live as long as the store does.

    A store must not run wasm on two threads at once (as in wasmtime)."""

    def __init__(self, max_wasm_stack: int = DEFAULT_MAX_WASM_STACK):
        if max_wasm_stack <= 0:
            raise ValueError("max_wasm_stack must be a positive number of bytes")
        self._ctx = ffi.new("VMStoreContext *")
        self._ctx.max_wasm_stack = max_wasm_stack
        self._instances: list = []
        self._refs = RefContext(self)

    @property
    def max_wasm_stack(self) -> int:
        return self._ctx.max_wasm_stack

    @max_wasm_stack.setter
    def max_wasm_stack(self, n: int) -> None:
        if n <= 0:
            raise ValueError("max_wasm_stack must be a positive number of bytes")
        self._ctx.max_wasm_stack = n

    def __repr__(self) -> str:
        return f"<aot.Store {len(self._instances)} instances>"
