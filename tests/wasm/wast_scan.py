"""A throwaway .wast scanner for the frontend tests: finds every module of the spec
suite and what the suite expects of it (valid, invalid, malformed).  Not a wast runner
(that lives in tests/spec/): it never instantiates or runs anything."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SUITE = REPO.parent / "shared" / "wasm-testsuite" / "core"


@dataclass
class WastModule:
    file: str
    line: int
    expect: str  # "valid" | "invalid" | "malformed"
    message: str | None  # the suite's expected message for invalid/malformed
    binary: bytes | None  # for `(module binary ...)`
    text: str | None  # for text modules, the `(module ...)` source


def suite_dir() -> Path | None:
    """The core suite directory, or None when absent (callers skip, except on CI)."""
    return SUITE if SUITE.is_dir() else None


def require_suite() -> Path:
    import pytest

    d = suite_dir()
    if d is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"wasm-testsuite not found at {SUITE}")
        pytest.skip("wasm-testsuite not found")
    return d


# --- s-expression scanning -------------------------------------------------------

_TOKEN = re.compile(
    r'\s+|;;[^\n]*|\(;|"(?:[^"\\]|\\.)*"|\(|\)|[^\s()";]+',
    re.S,
)


@dataclass
class Node:
    start: int
    end: int
    items: list  # Node | str tokens


def _skip_block_comment(src: str, i: int) -> int:
    depth = 1
    i += 2
    while depth:
        if src.startswith("(;", i):
            depth += 1
            i += 2
        elif src.startswith(";)", i):
            depth -= 1
            i += 2
        else:
            i += 1
    return i


def parse_sexprs(src: str) -> list[Node]:
    stack: list[Node] = [Node(0, len(src), [])]
    i = 0
    while i < len(src):
        m = _TOKEN.match(src, i)
        if m is None:
            i += 1
            continue
        tok = m.group(0)
        if tok == "(;":
            i = _skip_block_comment(src, i)
            continue
        i = m.end()
        if tok[0].isspace() or tok.startswith(";;"):
            continue
        if tok == "(":
            stack.append(Node(m.start(), -1, []))
        elif tok == ")":
            node = stack.pop()
            node.end = i
            stack[-1].items.append(node)
        else:
            stack[-1].items.append(tok)
    return stack[0].items


def wast_string(tok: str) -> bytes:
    """Decode a wast string literal (with its quotes) to bytes."""
    out = bytearray()
    s = tok[1:-1]
    i = 0
    while i < len(s):
        c = s[i]
        if c != "\\":
            out += c.encode()
            i += 1
            continue
        n = s[i + 1]
        simple = {"n": b"\n", "t": b"\t", "r": b"\r", "\\": b"\\", "'": b"'", '"': b'"'}
        if n in simple:
            out += simple[n]
            i += 2
        elif n == "u":
            j = s.index("}", i)
            out += chr(int(s[i + 3 : j], 16)).encode()
            i = j + 1
        else:
            out.append(int(s[i + 1 : i + 3], 16))
            i += 3
    return bytes(out)


def _module_of(node: Node, src: str, file: str, expect: str, msg: str | None) -> WastModule | None:
    items = node.items
    line = src.count("\n", 0, node.start) + 1
    rest = [t for t in items[1:] if not (isinstance(t, str) and t.startswith("$"))]
    if rest and rest[0] == "quote":
        return None  # text-format errors: not the binary frontend's business
    if rest and rest[0] == "binary":
        data = b"".join(wast_string(t) for t in rest[1:])
        return WastModule(file, line, expect, msg, data, None)
    return WastModule(file, line, expect, msg, None, src[node.start : node.end])


def scan_file(path: Path) -> Iterator[WastModule]:
    src = path.read_text()
    for node in parse_sexprs(src):
        if not isinstance(node, Node) or not node.items:
            continue
        head = node.items[0]
        if head == "module":
            mod = _module_of(node, src, path.name, "valid", None)
        elif head in ("assert_invalid", "assert_malformed"):
            msg = wast_string(node.items[2]).decode() if len(node.items) > 2 else None
            expect = "invalid" if head == "assert_invalid" else "malformed"
            mod = _module_of(node.items[1], src, path.name, expect, msg)
        elif head in ("assert_unlinkable", "assert_uninstantiable", "assert_trap"):
            inner = node.items[1]
            if not (isinstance(inner, Node) and inner.items and inner.items[0] == "module"):
                continue
            mod = _module_of(inner, src, path.name, "valid", None)
        else:
            continue
        if mod is not None:
            yield mod


def scan_suite(directory: Path) -> Iterator[WastModule]:
    for path in sorted(directory.glob("*.wast")):
        yield from scan_file(path)


_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)


def _escape_non_ascii(text: str) -> str:
    # wat2wasm refuses "confusing" Unicode (bidi controls...) even inside strings;
    # escaped as \u{...} it means the same bytes.
    def esc(m: re.Match) -> str:
        return "".join(c if ord(c) < 0x80 else f"\\u{{{ord(c):x}}}" for c in m.group(0))

    return _STRING.sub(esc, text)


def module_bytes(mod: WastModule) -> bytes:
    """The binary of a scanned module (text modules go through wasmtime.wat2wasm)."""
    if mod.binary is not None:
        return mod.binary
    import wasmtime

    try:
        return wasmtime.wat2wasm(mod.text)
    except Exception:
        escaped = _escape_non_ascii(mod.text or "")
        if escaped == mod.text:
            raise
        return wasmtime.wat2wasm(escaped)
