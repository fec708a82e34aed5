"""Names: the syntax and uniqueness of import, export and label names (Explainer.md
"Import and Export Definitions", "Name Uniqueness"), and the `component-name` custom
section (Binary.md "Name Section").

The name section is read before the component's other sections (`prescan_names`),
although it usually comes last, so that a resource type is created with its name.  Like
the core name section it is advisory: whatever is malformed is ignored, keeping what was
read before."""

from __future__ import annotations

import re

from aot.component.model import CORE_SORT_CODES, SORT_CODES, ComponentNames, Sort
from aot.errors import CompileError
from aot.wasm.reader import read_name, read_u32

SECTION_NAME = "component-name"

_LABEL = r"(?:[a-z][0-9a-z]*|[A-Z][0-9A-Z]*)(?:-(?:[0-9a-z]+|[0-9A-Z]+))*"
_WORDS = r"[a-z][0-9a-z]*(?:-[0-9a-z]+)*"
_VERSION = r"@\d+(?:\.\d+){0,2}(?:[-+][0-9A-Za-z.+-]+)?"
LABEL_RE = re.compile(_LABEL)
# One namespace and one projection: nesting more (🪺) is a gated feature.
_INTERFACE_RE = re.compile(rf"{_WORDS}:{_WORDS}/{_LABEL}(?:{_VERSION})?")
_PLAIN_RE = re.compile(
    rf"(?P<label>{_LABEL})|\[constructor\](?P<ctor>{_LABEL})"
    rf"|\[(?P<kind>method|static)\](?P<res>{_LABEL})\.(?P<member>{_LABEL})")


def is_label(name: str) -> bool:
    return LABEL_RE.fullmatch(name) is not None


def parse_externname(name: str) -> re.Match | None:
    """A plain name's match (groups label, ctor, kind/res/member), or None for an
    interface name; raises ValueError for neither."""
    m = _PLAIN_RE.fullmatch(name)
    if m is not None:
        return m
    if _INTERFACE_RE.fullmatch(name) is not None:
        return None
    raise ValueError(name)


def canonical_name(name: str) -> str:
    """The form two names must not share to be strongly-unique: lowercased,
    `[method]l.l`/`[static]l.l` as `l`, other annotations but `[constructor]` dropped."""
    n = name.lower()
    m = re.fullmatch(r"\[(?:method|static)\]([^.]*)\.(.*)", n)
    if m is not None:
        return m[1] if m[1] == m[2] else f"{m[1]}.{m[2]}"
    return n




def prescan_names(data: bytes, pos: int, end: int) -> ComponentNames:
    """The names of the component whose sections span data[pos:end]: its first
    `component-name` section, found by skipping from section header to header."""
    try:
        while pos < end:
            sid = data[pos]
            size, body = read_u32(data, pos + 1)
            if sid == 0:
                name, payload = read_name(data, body)
                if name == SECTION_NAME:
                    return parse_names(data, payload, min(body + size, end))
            pos = body + size
    except (CompileError, IndexError):
        pass
    return ComponentNames()


def parse_names(data: bytes, pos: int, end: int) -> ComponentNames:
    names = ComponentNames()
    try:
        while pos < end:
            sub = data[pos]
            size, body = read_u32(data, pos + 1)
            if sub == 0:
                names.component, _ = read_name(data, body)
            elif sub == 1:
                sort, at = _sort(data, body)
                if sort is not None:
                    names.sorts[sort] = _name_map(data, at)
            pos = body + size
    except (CompileError, IndexError):
        pass
    return names


def _sort(data: bytes, pos: int) -> tuple[Sort | None, int]:
    if data[pos] == 0x00:
        return CORE_SORT_CODES.get(data[pos + 1]), pos + 2
    return SORT_CODES.get(data[pos]), pos + 1


def _name_map(data: bytes, pos: int) -> dict[int, str]:
    n, pos = read_u32(data, pos)
    out: dict[int, str] = {}
    for _ in range(n):
        index, pos = read_u32(data, pos)
        out[index], pos = read_name(data, pos)
    return out


__all__ = ["LABEL_RE", "SECTION_NAME", "canonical_name", "is_label", "parse_externname",
           "parse_names", "prescan_names"]
