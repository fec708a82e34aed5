"""References crossing the host boundary.

* externref: any Python object.  Wasm holds a handle, `id(obj)`, and the object stays in
  the registry of the store while wasm might hold it: the collector (`aot.loader.gc`)
  drops it once no table, global or wasm frame does.  The same object always has the
  same handle, so identity round-trips.
* funcref: an `aot.Func`; wasm holds its `VMFuncRef *`.
* null is None on the Python side and 0 in wasm.
"""

from __future__ import annotations

import weakref
from collections import deque

from aot.errors import AotError, LinkError
from aot.loader.ffi import address, ffi
from aot.wasm.types import ValType


class RefContext:
    """Where the references of one store live: externref objects by handle, and the
    funcs whose VMFuncRefs wasm may hold.  A table or global not yet imported by any
    instance has its own, merged into the store's when it is."""

    __slots__ = ("store", "objects", "keepalive", "holders", "recent", "issued", "threshold",
                 "_converters", "signature_conversions")

    def __init__(self, store=None) -> None:
        from aot.loader.gc import MIN_THRESHOLD, RECENT_ROOTS

        self.store = store
        self.objects: dict[int, object] = {}
        self.keepalive: set = set()
        # Externref tables and globals whose words are roots (`_gc_words()`).
        self.holders: weakref.WeakSet = weakref.WeakSet()
        self.recent: deque[int] = deque(maxlen=RECENT_ROOTS)  # handles just given out
        self.issued = 0  # handles given out since the last collection
        self.threshold = MIN_THRESHOLD
        self._converters: dict[ValType, tuple] = {}
        # Per function type, what host callbacks convert with (`aot.loader.func`).
        self.signature_conversions: dict = {}

    def adopt(self, other: RefContext) -> None:
        self.objects.update(other.objects)
        self.keepalive.update(other.keepalive)
        self.holders.update(other.holders)
        self.recent.extend(other.recent)

    def collect(self, *, in_conversion: bool = False) -> int:
        """Release the objects nothing in wasm holds (`aot.loader.gc`); how many."""
        from aot.loader.gc import collect

        return collect(self, in_conversion=in_conversion)

    # --- conversions ----------------------------------------------------------------------

    def to_word(self, t: ValType, value) -> int:
        if t == ValType.EXTERNREF:
            if value is None:
                return 0
            h = id(value)
            self.objects[h] = value
            self.recent.append(h)
            self.issued += 1
            if self.issued >= self.threshold and self.store is not None:
                self.collect(in_conversion=True)
            return h
        return self._funcref_word(value)

    def from_word(self, t: ValType, word: int):
        if word == 0:
            return None
        if t == ValType.EXTERNREF:
            try:
                return self.objects[word]
            except KeyError:
                raise AotError(f"externref handle 0x{word:x} is unknown to this store") from None
        from aot.loader.funcrefs import func_from_ref

        return func_from_ref(word)

    def _funcref_word(self, value) -> int:
        from aot.loader.func import Func

        if value is None:
            return 0
        if not isinstance(value, Func):
            raise TypeError(f"a funcref is an aot.Func or None, not {type(value).__name__}")
        owner_store = None if value._owner is None or value.is_host else value._owner.store
        if self.store is not None and owner_store is not None and owner_store is not self.store:
            raise LinkError(f"{value.name} belongs to another store; wasm functions only run "
                            "in the store of their instance")
        self.keepalive.add(value)  # its VMFuncRef lives in an instance that must outlive the ref
        return address(value._funcref_for_table())

    def converters(self, t: ValType) -> tuple:
        """(put, get, put_raw, get_raw) for ValRaw slots of reference type `t`, as in
        `aot.loader.values.CONVERTERS`; for references the raw form is the object too."""
        found = self._converters.get(t)
        if found is None:
            found = self._converters[t] = self._make_converters(t)
        return found

    def _make_converters(self, t: ValType) -> tuple:
        to_word, from_word, cast = self.to_word, self.from_word, ffi.cast

        def put(slot, value, what):
            try:
                slot.ref = cast("void *", to_word(t, value))
            except TypeError as exc:
                raise TypeError(f"{what}: {exc}") from None

        def get(slot):
            return from_word(t, address(slot.ref))

        return put, get, put, get
