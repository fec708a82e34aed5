"""The host side of WASI's resources: each resource value the host hands a component
(a stream, a pollable, a descriptor...) is a Python object here, and the component holds
a handle whose representation is the object's number in this table."""

from __future__ import annotations

from typing import Any, TypeVar

from aot.component.abi_context import trap

T = TypeVar("T")


class ResourceTable:
    """Representation -> host object.  Numbers start at 1 and are not reused while the
    object is alive; the component dropping its last handle removes the object."""

    def __init__(self) -> None:
        self._objects: dict[int, Any] = {}
        self._next = 1

    def push(self, obj: Any) -> int:
        rep = self._next
        self._next += 1
        self._objects[rep] = obj
        return rep

    def get(self, rep: int, kind: type[T]) -> T:
        """The object behind `rep`; a trap if there is none of that kind (the canonical
        ABI's handle checks make that a host bug, not a guest error)."""
        obj = self._objects.get(rep)
        if not isinstance(obj, kind):
            raise trap(f"WASI resource {rep} is not a live {kind.__name__}")
        return obj

    def remove(self, rep: int) -> None:
        _close(self._objects.pop(rep, None))

    def close_all(self) -> None:
        """End of the run: release what the component still holds (open files)."""
        objects, self._objects = self._objects, {}
        for obj in objects.values():
            _close(obj)

    def __len__(self) -> int:
        return len(self._objects)


def _close(obj: Any) -> None:
    close = getattr(obj, "close", None)
    if close is not None:
        close()
