"""Python values of component-model types that Python has no natural class for: variant
cases, nested option payloads and results; and the errors raised for wrong host values.

See `aot.component.abi` for the whole mapping between component values and Python."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Variant:
    """A value of a `variant` type: the case's name and its payload (None when the case
    has none)."""

    case: str
    value: Any = None


@dataclass(frozen=True)
class Some:
    """The `some` case of an `option<T>` whose T is itself an option, where a bare None
    could mean either level: `option<option<u8>>` values are None, Some(None) and
    Some(5).  Lowering accepts Some(v) for any option."""

    value: Any


@dataclass(frozen=True)
class Ok:
    """The `ok` case of a `result`; `value` is None when the type has no ok payload."""

    value: Any = None


@dataclass(frozen=True)
class Err:
    """The `error` case of a `result`; `value` is None when the type has no error
    payload."""

    value: Any = None


class _Located:
    """Mixin of the lowering errors: `within(where)` returns the same error with the
    position of the wrong value prefixed, so that nested positions read outermost
    first ("element 2 of list: field 'x' of record: expected ...")."""

    def within(self, where: str) -> Exception:
        return type(self)(f"{where}: {self}")  # type: ignore[call-arg]


class ComponentTypeError(_Located, TypeError):
    """A host value has the wrong Python type for its component type."""


class ComponentValueError(_Located, ValueError):
    """A host value has the right Python type but a value its component type cannot hold
    (an int out of range, an unknown case or flag name, a surrogate...)."""


def describe(v: Any) -> str:
    """A short description of a wrong value for an error message."""
    text = repr(v)
    if len(text) > 60:
        text = text[:57] + "..."
    return text if type(v) is int else f"{type(v).__name__} {text}"
