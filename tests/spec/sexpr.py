"""S-expression reader for .wast scripts: atoms (plain `str`), strings (`Str`), lists
(`SList`); comments are dropped.

One regex tokenizes the whole file (the only way to parse the ~11 MB suite in a few
seconds in pure Python); nested block comments are matched by a regex unrolled to a
fixed nesting depth, far deeper than any script uses.
"""

from __future__ import annotations

import re


class WastSyntaxError(Exception):
    """The script is not a well-formed sequence of S-expressions."""


class Str(str):
    """A string token, kept as its raw source text (without quotes); `.bytes` decodes it."""

    __slots__ = ()

    @property
    def bytes(self) -> bytes:
        return decode_string(self)

    @property
    def text(self) -> str:
        """The decoded string as UTF-8 text, which names and quoted modules must be."""
        return decode_string(self).decode("utf-8", errors="surrogateescape")


class SList(list):
    """A parenthesized list; `start`/`end` are source offsets of its parentheses, so a
    form's raw text (a text module) is `source[start:end]`."""

    __slots__ = ("start", "end")

    def __init__(self, start: int) -> None:
        super().__init__()
        self.start = start
        self.end = start


def _block_comment(depth: int) -> str:
    # Body: any char except the start of "(;" or ";)", or a nested comment.
    inner = r"[^;(]|;(?!\))|\((?!;)"
    pattern = rf"\(;(?:{inner})*;\)"
    for _ in range(depth):
        pattern = rf"\(;(?:{inner}|{pattern})*;\)"
    return pattern


# Whitespace and comments are skipped as the prefix of the next token, so the Python loop
# in `read` runs once per real token; the empty alternative matches at end of input.
_TOKEN = re.compile(
    rf"""
    (?:\s+|;;[^\n]*|{_block_comment(8)})*
    (?:(\()|(\))|("[^"\\]*(?:\\.[^"\\]*)*")|([^\s()";]+)|(.)|\Z)
    """,
    re.VERBOSE | re.DOTALL,
)

_ESCAPE = re.compile(r"\\(?:([0-9a-fA-F]{2})|u\{([0-9a-fA-F_]+)\}|(.))", re.DOTALL)
_SIMPLE_ESCAPES = {"n": b"\n", "t": b"\t", "r": b"\r", "\\": b"\\", "'": b"'", '"': b'"'}


def decode_string(raw: str) -> bytes:
    """Decode the escapes of a string token: \\n \\t \\r \\\\ \\' \\" \\hh \\u{...}."""
    if "\\" not in raw:
        return raw.encode("utf-8", errors="surrogateescape")
    out = bytearray()
    pos = 0
    for m in _ESCAPE.finditer(raw):
        out += raw[pos : m.start()].encode("utf-8", errors="surrogateescape")
        hexbyte, codepoint, char = m.groups()
        if hexbyte is not None:
            out.append(int(hexbyte, 16))
        elif codepoint is not None:
            out += chr(int(codepoint.replace("_", ""), 16)).encode("utf-8")
        elif char in _SIMPLE_ESCAPES:
            out += _SIMPLE_ESCAPES[char]
        else:
            raise WastSyntaxError(f"unknown string escape \\{char}")
        pos = m.end()
    out += raw[pos:].encode("utf-8", errors="surrogateescape")
    return bytes(out)


def read(source: str) -> list[SList]:
    """Parse `source` into its top-level lists (a script has nothing else at top level)."""
    top = SList(0)
    stack = [top]
    current = top
    for m in _TOKEN.finditer(source):
        opened, closed, string, atom, bad = m.groups()
        if atom:
            current.append(atom)
        elif opened:
            lst = SList(m.start(1))
            current.append(lst)
            stack.append(lst)
            current = lst
        elif closed:
            if len(stack) == 1:
                raise WastSyntaxError(f"unbalanced ')' on line {line_of(source, m.start(2))}")
            current.end = m.end(2)
            stack.pop()
            current = stack[-1]
        elif string:
            current.append(Str(string[1:-1]))
        elif bad:
            what = "unterminated comment or string" if bad in ';"' else repr(bad)
            raise WastSyntaxError(f"{what} on line {line_of(source, m.start(5))}")
    if len(stack) != 1:
        raise WastSyntaxError(f"unclosed '(' from line {line_of(source, stack[-1].start)}")
    for form in top:
        if not isinstance(form, SList):
            raise WastSyntaxError(f"stray token {form!r} at top level")
    return top


def line_of(source: str, offset: int) -> int:
    return source.count("\n", 0, offset) + 1
