"""A Store: the unit of isolation.  Instances that call each other share one, and with
it the execution state compiled code reads (stack limit, trap landing point)."""

from __future__ import annotations

from aot.abi.vmctx import INTERRUPT_SENTINEL, MAX_BACKTRACE, StoreCtx
from aot.errors import NotSupportedError
from aot.loader import signals
from aot.loader.ffi import address, ffi
from aot.loader.limits import StoreLimits, check_instantiation
from aot.loader.refs import RefContext

DEFAULT_MAX_WASM_STACK = 512 * 1024  # bytes, as wasmtime

_BLOCK = ffi.typeof("uint64_t[]")
_CTX = ffi.typeof("VMStoreContext *")
_CTX_WORDS = StoreCtx.SIZE // 8


class Store:
    """Owns the instances created in it; they live as long as the store does.

    A store must not run wasm on two threads at once (as in wasmtime)."""

    def __init__(self, max_wasm_stack: int = DEFAULT_MAX_WASM_STACK,
                 limits: StoreLimits | None = None):
        if max_wasm_stack <= 0:
            raise ValueError("max_wasm_stack must be a positive number of bytes")
        # One block: the context, then the buffer traps record return addresses in.
        self._block = ffi.new(_BLOCK, _CTX_WORDS + MAX_BACKTRACE)
        self._ctx = ffi.cast(_CTX, self._block)
        self._ctx_addr = address(self._block)
        self._ctx.backtrace = self._block + _CTX_WORDS
        self._ctx.max_wasm_stack = max_wasm_stack
        self._instances: list = []
        self._fuel_granted = False  # set_fuel was called: every module must meter fuel
        self.limits = limits if limits is not None else StoreLimits()
        self._refs = RefContext(self)
        self._signal_slot = signals.register_store(self._ctx)  # faults in guard-mode code

    def __del__(self) -> None:
        slot = getattr(self, "_signal_slot", None)
        if slot is not None:
            signals.release_store(slot)

    @property
    def max_wasm_stack(self) -> int:
        return self._ctx.max_wasm_stack

    @max_wasm_stack.setter
    def max_wasm_stack(self, n: int) -> None:
        if n <= 0:
            raise ValueError("max_wasm_stack must be a positive number of bytes")
        self._ctx.max_wasm_stack = n

    def interrupt(self) -> bool:
        """Stop the wasm code running in this store, from any thread: it traps with
        `TrapCode.INTERRUPT` at the next function entry or loop header, and the store
        stays usable.  Returns False when no wasm was running (nothing to stop; the next
        call is not affected)."""
        if self._ctx.jmp_buf == ffi.NULL:
            return False
        # One aligned 8-byte store: atomic on the targets aot supports.  The compiled
        # code reads it with atomic loads and installs its own limit with a CAS.
        self._ctx.stack_limit = INTERRUPT_SENTINEL
        return True

    def gc(self) -> int:
        """Release the Python objects given to wasm as externref that no table, global
        or running wasm frame of this store holds any more (`aot.loader.gc`); returns how
        many were released.  Collections also run on their own as handles are given out."""
        return self._refs.collect()

    def set_fuel(self, fuel: int) -> None:
        """Grant `fuel` units (one per wasm operator, see README) to code compiled with
        fuel metering; running out traps with "all fuel consumed by WebAssembly".
        Refused (as wasmtime refuses it without `consume_fuel`) when an instance of the
        store runs code compiled without fuel, which would run unmetered; once fuel is
        granted, such modules cannot be instantiated in the store."""
        if not 0 <= fuel < 2**63:
            raise ValueError(f"fuel must be in [0, 2**63), not {fuel}")
        for inst in self._instances:
            _require_fuel(inst.module._artifact)
        self._fuel_granted = True
        self._ctx.fuel = -fuel

    def set_limits(self, **limits) -> None:
        """Replace the store's resource limits (`aot.StoreLimits` fields: memory_size,
        total_memory, table_elements, instances, tables, memories; None: no limit)."""
        self.limits = StoreLimits(**limits)

    def _admit(self, artifact) -> None:
        """Called before an instance of `artifact` joins the store."""
        if self._fuel_granted:
            _require_fuel(artifact)
        check_instantiation(self, artifact.desc)

    def get_fuel(self) -> int:
        """Fuel left (never negative)."""
        return max(-self._ctx.fuel, 0)

    def __repr__(self) -> str:
        return f"<aot.Store {len(self._instances)} instances>"


def _require_fuel(artifact) -> None:
    if not artifact.fingerprint.options.get("fuel"):
        raise NotSupportedError(
            f"fuel in a store running {artifact.path}, compiled without fuel metering: its "
            "code would run unmetered (compile it with fuel=True, `aot compile --fuel`)")
