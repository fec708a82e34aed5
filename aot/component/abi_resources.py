"""Resource handles (CanonicalABI.md, "Table State", "Resource State", `lift_own`,
`lift_borrow`, `lower_own`, `lower_borrow`, `canon resource.{new,drop,rep}`).

A component instance keeps its handles in a `HandleTable` of `ResourceHandle`s; core
wasm sees only their i32 indices.  The host holds resources as `Resource` objects:

* lifting an `own` moves the handle out of the instance's table into a `Resource` the
  host owns (and must `drop()`, which runs the resource type's destructor once);
  lowering it moves it back into a table, and the host's object is spent;
* lowering a `borrow` into a call (`Task` scope) lends the resource to the callee,
  which must drop the borrow handle before the call ends (`Task.finish` traps
  otherwise); lifting a `borrow` out of a call (`Subtask` scope) gives the host a
  borrowed `Resource`, valid until `Subtask.finish`, and the lending handle cannot be
  dropped or moved until then."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aot.component.abi_context import LiftLowerContext, trap
from aot.component.types import Borrow, Own, ResourceType
from aot.component.values import ComponentTypeError, ComponentValueError, describe

Destructor = Callable[[int], Any]  # called with the resource's representation


def _type_name(rt: ResourceType) -> str:
    return f"resource {rt.name!r}" if rt.name else "resource"


@dataclass(eq=False)
class ResourceHandle:
    """An element of a handle table: the resource (type and representation), whether
    the handle owns it, and the borrow bookkeeping: the `Task` a borrow handle was lent
    in, and how many borrows of this handle are out (it cannot move or drop meanwhile)."""

    rt: ResourceType
    rep: int
    own: bool
    borrow_scope: Task | None = None
    num_lends: int = 0
    dtor: Destructor | None = None  # run when an owning handle is dropped


class HandleTable:
    """A growable array of handles indexed from 1 (0 stays free: a null handle), reusing
    freed slots first."""

    MAX_LENGTH = (1 << 28) - 1  # leaves the high 4 bits of an index to the guest

    def __init__(self) -> None:
        self._array: list[Any] = [None]
        self._free: list[int] = []

    def __len__(self) -> int:
        return len(self._array) - 1 - len(self._free)

    def get(self, i: int) -> Any:
        if not 0 <= i < len(self._array) or self._array[i] is None:
            raise trap(f"unknown handle index {i}")
        return self._array[i]

    def add(self, e: Any) -> int:
        if self._free:
            i = self._free.pop()
            self._array[i] = e
            return i
        i = len(self._array)
        if i > self.MAX_LENGTH:
            raise trap("handle table full")
        self._array.append(e)
        return i

    def remove(self, i: int) -> Any:
        e = self.get(i)
        self._array[i] = None
        self._free.append(i)
        return e


@dataclass(eq=False)
class InstanceState:
    """The part of a component instance the ABI needs: its handle table, the resource
    types it defines (a borrow of one of those is lowered into it as the bare
    representation, which is all it can use it for), and the destructor of each resource
    type (a mapping that can be shared by all the instances of a store)."""

    handles: HandleTable = field(default_factory=HandleTable)
    implements: set[ResourceType] = field(default_factory=set)
    destructors: Mapping[ResourceType, Destructor] = field(default_factory=dict)

    def handle(self, i: int, rt: ResourceType) -> ResourceHandle:
        h = self.handles.get(i)
        if not isinstance(h, ResourceHandle):
            raise trap(f"handle index {i} is not a resource handle")
        if h.rt is not rt:
            raise trap(f"handle index {i} is a {_type_name(h.rt)}, expected a "
                       f"{_type_name(rt)}")
        return h

    # The canon built-ins on resources, for the guest's own handles.

    def resource_new(self, rt: ResourceType, rep: int) -> int:
        """`resource.new`: a new owning handle of a resource this instance defines."""
        return self.handles.add(ResourceHandle(rt, rep, own=True,
                                               dtor=self.destructors.get(rt)))

    def resource_rep(self, rt: ResourceType, i: int) -> int:
        """`resource.rep`: the representation behind handle `i`."""
        return self.handle(i, rt).rep

    def resource_drop(self, rt: ResourceType, i: int) -> None:
        """`resource.drop`: remove handle `i`; an owning handle runs the destructor, a
        borrow handle is returned to the call that lent it."""
        h = self.handle(i, rt)
        if h.num_lends:
            raise trap(f"cannot drop handle {i}: it is lent to {h.num_lends} borrow(s)")
        self.handles.remove(i)
        if h.own:
            if h.dtor is not None:
                h.dtor(h.rep)
        elif h.borrow_scope is not None:
            h.borrow_scope.num_borrows -= 1


class Resource:
    """A resource as the host holds it: its type and representation, and whether the
    host owns it (then `drop()` runs its destructor, once) or borrows it for the length
    of a call.  A host-defined resource is created directly: `Resource(rt, rep,
    dtor=callback)`.  Once lowered as an `own`, the object is spent (the guest owns the
    resource); a borrowed one expires when its call ends."""

    def __init__(self, type: ResourceType, rep: int, *, own: bool = True,
                 dtor: Destructor | None = None):
        bits = 64 if type.rep == "i64" else 32
        if isinstance(rep, bool) or not isinstance(rep, int) or not 0 <= rep < 1 << bits:
            raise ComponentValueError(f"a resource representation is an int in "
                                      f"0..{(1 << bits) - 1}, got {describe(rep)}")
        self.type = type
        self.rep = rep
        self.own = own
        self.dtor = dtor
        self.state = "live"  # then 'moved', 'dropped' or 'expired' (a returned borrow)
        self.num_lends = 0  # borrows of it out in calls now

    def __repr__(self) -> str:
        kind = "own" if self.own else "borrow"
        return f"<Resource {self.type.name or '?'} rep={self.rep} {kind} {self.state}>"

    def check_usable(self, rt: ResourceType) -> None:
        if self.type is not rt:
            raise ComponentValueError(f"expected a {_type_name(rt)}, got a "
                                      f"{_type_name(self.type)}")
        if self.state != "live":
            raise ComponentValueError(f"the resource was {self.state}: it cannot be used")

    def drop(self) -> None:
        """Give up an owned resource: its destructor runs (once)."""
        if not self.own:
            raise ComponentValueError("a borrowed resource cannot be dropped: its owner does")
        if self.state != "live":
            raise ComponentValueError(f"the resource was already {self.state}")
        if self.num_lends:
            raise ComponentValueError("the resource is lent to a call in progress")
        self.state = "dropped"
        if self.dtor is not None:
            self.dtor(self.rep)


class Task:
    """The borrow scope of a call into a component instance: counts the borrow handles
    lowered into the callee, which it must drop before the call returns."""

    def __init__(self) -> None:
        self.num_borrows = 0
        self._lent: list[Resource] = []

    def lend(self, r: Resource) -> None:
        r.num_lends += 1
        self._lent.append(r)

    def finish(self) -> None:
        """End of the call, once the core callee has returned and its results are
        lifted (the spec's `task.return`): the lent resources are the host's again; trap
        if the callee kept a borrow handle."""
        for r in self._lent:
            r.num_lends -= 1
        self._lent = []
        if self.num_borrows:
            raise trap(f"borrow handles still remain at the end of the call "
                       f"({self.num_borrows} not dropped)")


class Subtask:
    """The borrow scope of a call out of a component instance: the instance's handles
    whose borrows the callee (the host) holds, returned when the call ends."""

    def __init__(self) -> None:
        self._lenders: list[ResourceHandle] = []
        self._borrowed: list[Resource] = []

    def add_lender(self, h: ResourceHandle, borrowed: Resource) -> None:
        h.num_lends += 1
        self._lenders.append(h)
        self._borrowed.append(borrowed)

    def finish(self) -> None:
        """End of the call, once the host function has returned and its results are
        lowered (the spec's `deliver_resolve`): the borrowed resources expire and their
        handles are free to move or drop again."""
        for h in self._lenders:
            h.num_lends -= 1
        for r in self._borrowed:
            r.state = "expired"
        self._lenders = []
        self._borrowed = []


# --- lifting and lowering handles --------------------------------------------------------

def lift_own(cx: LiftLowerContext, i: int, t: Own) -> Resource:
    """Move the owning handle `i` out of the instance's table to the host."""
    inst = cx.instance()
    h = inst.handle(i, t.resource)
    if not h.own:
        raise trap(f"handle index {i} is a borrow, expected an own")
    if h.num_lends:
        raise trap(f"cannot move handle {i} out: it is lent to {h.num_lends} borrow(s)")
    inst.handles.remove(i)
    return Resource(h.rt, h.rep, own=True, dtor=h.dtor)


def lift_borrow(cx: LiftLowerContext, i: int, t: Borrow) -> Resource:
    """Lend handle `i` to the host for the rest of the call (the `Subtask` scope)."""
    scope = cx.borrow_scope
    if not isinstance(scope, Subtask):
        raise ValueError("lifting a borrow needs the Subtask of the call as borrow scope")
    h = cx.instance().handle(i, t.resource)
    borrowed = Resource(h.rt, h.rep, own=False, dtor=None)
    scope.add_lender(h, borrowed)
    return borrowed


def _resource(v: Any, rt: ResourceType) -> Resource:
    if not isinstance(v, Resource):
        raise ComponentTypeError(f"expected a Resource of {_type_name(rt)}, got "
                                 f"{describe(v)}")
    v.check_usable(rt)
    return v


def lower_own(cx: LiftLowerContext, v: Any, t: Own) -> int:
    """Move the host's resource into a new owning handle of the instance."""
    r = _resource(v, t.resource)
    if not r.own:
        raise ComponentValueError("a borrowed resource cannot be passed as an own")
    if r.num_lends:
        raise ComponentValueError("the resource is lent to a call in progress: it cannot "
                                  "be moved")
    inst = cx.instance()
    dtor = r.dtor if r.dtor is not None else inst.destructors.get(r.type)
    i = inst.handles.add(ResourceHandle(r.type, r.rep, own=True, dtor=dtor))
    r.state = "moved"
    return i


def lower_borrow(cx: LiftLowerContext, v: Any, t: Borrow) -> int:
    """Lend the host's resource to the callee (the `Task` scope) as a borrow handle."""
    r = _resource(v, t.resource)
    inst = cx.instance()
    if t.resource in inst.implements:
        return r.rep  # the defining instance only needs the representation
    scope = cx.borrow_scope
    if not isinstance(scope, Task):
        raise ValueError("lowering a borrow needs the Task of the call as borrow scope")
    i = inst.handles.add(ResourceHandle(r.type, r.rep, own=False, borrow_scope=scope))
    scope.num_borrows += 1
    scope.lend(r)
    return i

