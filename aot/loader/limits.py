"""Resource limits of a store (wasmtime's `StoreLimits`): how much memory and how many
table elements, instances, tables and memories the wasm in one store may have.

A `memory.grow` or `table.grow` past a limit returns -1 to the guest, as a grow past a
memory's own maximum does, or traps (`TrapCode.GROW_LIMIT`) with `trap_on_grow_failure`;
an instantiation past one raises `ResourceLimitError` before anything is allocated.
Every limit is off (None) by default: a module is bounded by its own declared maxima
and by `MAX_TABLE_ELEMENTS`."""

from __future__ import annotations

from dataclasses import dataclass

from aot.abi.traps import GROW_TRAPS
from aot.errors import AotError
from aot.wasm.types import PAGE_SIZE


class ResourceLimitError(AotError):
    """An instantiation would take a store past one of its `StoreLimits`."""


@dataclass(frozen=True)
class StoreLimits:
    memory_size: int | None = None  # bytes, each linear memory
    total_memory: int | None = None  # bytes, all the store's linear memories together
    table_elements: int | None = None  # elements, each table
    instances: int | None = None
    tables: int | None = None  # tables defined by the store's instances
    memories: int | None = None  # memories defined by the store's instances
    trap_on_grow_failure: bool = False  # a grow past a limit traps instead of returning -1

    def __post_init__(self) -> None:
        for name, value in self.__dict__.items():
            if name == "trap_on_grow_failure":
                continue
            if value is not None and (not isinstance(value, int) or isinstance(value, bool)
                                      or value < 0):
                raise ValueError(f"StoreLimits.{name} must be a non-negative integer or None, "
                                 f"not {value!r}")


def defined(store, kind: str) -> list:
    """The memories or tables the store's instances define (imports are someone else's)."""
    out: dict[int, object] = {}
    for inst in store._instances:
        desc = inst.module._artifact.desc
        own = inst._memories[len(inst._memories) - len(desc.memories):] if kind == "memories" \
            else inst._tables[len(inst._tables) - len(desc.tables):]
        for x in own:
            out[id(x)] = x
    return list(out.values())


def memory_bytes(store) -> int:
    return sum(m._def.length for m in defined(store, "memories"))


def check_instantiation(store, desc) -> None:
    """Refuse an instance of `desc` that the store's limits cannot hold."""
    limits: StoreLimits = store.limits

    def refuse(what: str) -> ResourceLimitError:
        return ResourceLimitError(f"instantiating would exceed the store's limit on {what}")

    if limits.instances is not None and len(store._instances) + 1 > limits.instances:
        raise refuse(f"instances ({limits.instances})")
    if limits.memories is not None and len(defined(store, "memories")) + len(desc.memories) > limits.memories:
        raise refuse(f"memories ({limits.memories})")
    if limits.tables is not None and len(defined(store, "tables")) + len(desc.tables) > limits.tables:
        raise refuse(f"tables ({limits.tables})")
    initial = [m.limits.min * PAGE_SIZE for m in desc.memories]
    if limits.memory_size is not None and any(b > limits.memory_size for b in initial):
        raise refuse(f"the size of a memory ({limits.memory_size:,} bytes)")
    if limits.total_memory is not None and memory_bytes(store) + sum(initial) > limits.total_memory:
        raise refuse(f"memory in all ({limits.total_memory:,} bytes)")
    if limits.table_elements is not None and any(t.limits.min > limits.table_elements
                                                 for t in desc.tables):
        raise refuse(f"the elements of a table ({limits.table_elements:,})")


def memory_may_grow(store, memory, delta_pages: int) -> bool:
    limits: StoreLimits = store.limits
    new = memory._def.length + delta_pages * PAGE_SIZE
    if limits.memory_size is not None and new > limits.memory_size:
        return False
    return limits.total_memory is None or (
        memory_bytes(store) + delta_pages * PAGE_SIZE <= limits.total_memory)


def refused(store) -> int:
    """What a grow builtin returns when a limit refuses it."""
    return GROW_TRAPS if store.limits.trap_on_grow_failure else -1


def table_may_grow(store, table, delta: int) -> bool:
    limit = store.limits.table_elements
    return limit is None or table.size + delta <= limit


__all__ = ["ResourceLimitError", "StoreLimits"]
