"""Tokens of the WebAssembly text format (spec 6.3, lexical format).

One regex scans the whole text; the loop in `tokenize` runs once per token (whitespace
and line comments are matched as the prefix of the next token), so a 1 MB module lexes
in well under a second.  Tokens are three parallel lists (kind, text, offset) plus,
for each `(`, the index of its `)`, which lets the parser skip a whole field in one step.

Kinds:
  `(` `)`    parentheses; an annotation `(@id ...)` is skipped with its contents, except
             `(@custom`, which reads as `(` and the keyword `@custom`
  STR        a string; `text` is the raw source between the quotes (decode with `string_bytes`)
  ID         `$name` or `$"name"`; `text` is the name without `$` (decoded for `$"..."`)
  KW         an atom starting with a lowercase letter: keywords, `offset=4`, `nan`, `inf`
  NUM        an atom starting with a digit or a sign, already checked to be a number
  EOF        the end

As in the spec's reference interpreter, an atom that can be no token at all (`0x`,
`1_`, `data"a"`, `$`) is refused where it stands, as "unknown operator".
"""

from __future__ import annotations

import re

from aot.wat.errors import WatError

LP, RP, STR, ID, KW, NUM, EOF = "(", ")", "str", "id", "kw", "num", "eof"

_IDCHAR = r"0-9A-Za-z!#$%&'*+\-./:<=>?@\\^_`|~"
_STRING = r'"(?:[^"\\]|\\.)*"'
# Whitespace and line comments (which end at a newline or a carriage return) before a
# token; then one token.  An atom is a run of idchars and strings: a run that is not a
# single string or a plain idchar run (`data"a"`, `"a""b"`) is a reserved token.
_TOKEN = re.compile(
    rf"""(?:[ \t\n\r]+|;;[^\n\r]*)*
    (?:(\(;)|(\(@[{_IDCHAR}]*)|(\()|(\))|((?:[{_IDCHAR}]+|{_STRING})+)|(.)|\Z)""",
    re.VERBOSE | re.DOTALL,
)
_COMMENT_PART = re.compile(r"\(;|;\)")
_NUM = r"[0-9](?:_?[0-9])*"
_HEXNUM = r"[0-9a-fA-F](?:_?[0-9a-fA-F])*"
NAT = re.compile(rf"{_NUM}|0x{_HEXNUM}")
INT = re.compile(rf"[+-](?:{_NUM}|0x{_HEXNUM})")
FLOAT = re.compile(
    rf"[+-]?(?:{_NUM}(?:\.(?:{_NUM})?)?(?:[eE][+-]?{_NUM})?"
    rf"|0x{_HEXNUM}(?:\.(?:{_HEXNUM})?)?(?:[pP][+-]?{_NUM})?"
    rf"|inf|nan(?::0x{_HEXNUM})?)"
)
_ONE_STRING = re.compile(_STRING, re.DOTALL)
_PLAIN_ID = re.compile(rf"\$[{_IDCHAR}]+")
_STRING_ID = re.compile(rf"\$({_STRING})")
_SURROGATE = re.compile("[\ud800-\udfff]")


class Tokens:
    """The token lists of one text, and the text itself for error positions."""

    __slots__ = ("text", "kinds", "values", "offsets", "close")

    def __init__(self, text: str) -> None:
        self.text = text
        self.kinds: list[str] = []
        self.values: list[str] = []
        self.offsets: list[int] = []
        self.close: dict[int, int] = {}  # index of `(` -> index of its `)` (or of EOF)

    def after(self, i: int) -> int:
        """The token after the group opening at `i` (the EOF token if it is unclosed)."""
        return min(self.close[i] + 1, len(self.kinds) - 1)

    def where(self, offset: int) -> tuple[int, int]:
        """(line, column) of a character offset, both counted from 1."""
        line = self.text.count("\n", 0, offset) + 1
        column = offset - (self.text.rfind("\n", 0, offset) + 1) + 1
        return line, column

    def error(self, reason: str, offset: int) -> WatError:
        return WatError(reason, *self.where(offset))


def tokenize(text: str) -> Tokens:
    """Split `text` into tokens; raise WatError for text that is no token sequence."""
    toks = Tokens(text)
    bad = _SURROGATE.search(text)  # bytes that were not UTF-8 (decoded with surrogateescape)
    if bad:
        raise toks.error("malformed UTF-8 encoding", bad.start())
    kinds, values, offsets = toks.kinds, toks.values, toks.offsets
    opened: list[int] = []
    pos = 0
    end = len(text)
    match = _TOKEN.match
    while True:
        m = match(text, pos)
        comment, annotation, lparen, rparen, atom, other = m.groups()
        start = m.start(m.lastindex) if m.lastindex else m.end()
        pos = m.end()
        if atom is not None:
            kind, value = _atom(toks, atom, start)
            kinds.append(kind)
            values.append(value)
            offsets.append(start)
        elif lparen is not None:
            opened.append(len(kinds))
            kinds.append(LP)
            values.append("(")
            offsets.append(start)
        elif rparen is not None:
            if opened:  # an unmatched `)` is left to the parser, which says where it fits
                toks.close[opened.pop()] = len(kinds)
            kinds.append(RP)
            values.append(")")
            offsets.append(start)
        elif comment is not None:
            pos = _skip_block_comment(toks, start)
        elif annotation == "(@custom":  # a custom section, parsed as a module field
            opened.append(len(kinds))
            kinds.extend((LP, KW))
            values.extend(("(", "@custom"))
            offsets.extend((start, start + 1))
        elif annotation is not None:
            pos = _skip_annotation(toks, start)
        elif other is not None:
            if other == '"':
                raise toks.error("unclosed string literal", start)
            raise toks.error(f"malformed operator {other!r}", start)
        else:  # end of text
            break
    for i in opened:  # unclosed: the group runs to the end, where the parser stops
        toks.close[i] = len(kinds)
    kinds.append(EOF)
    values.append("")
    offsets.append(end)
    return toks


def _atom(toks: Tokens, atom: str, start: int) -> tuple[str, str]:
    first = atom[0]
    if first == '"':
        if _ONE_STRING.fullmatch(atom):
            return STR, atom[1:-1]
    elif first == "$":
        if '"' not in atom and _PLAIN_ID.fullmatch(atom):
            return ID, atom[1:]
        m = _STRING_ID.fullmatch(atom)
        if m:
            name = string_bytes(toks, m.group(1)[1:-1], start + 1)
            if name:
                return ID, utf8(toks, name, start)
    elif '"' not in atom:
        if "a" <= first <= "z":
            return KW, atom
        if first in "0123456789+-" and FLOAT.fullmatch(atom):  # FLOAT includes the integers
            return NUM, atom
    raise toks.error(f"unknown operator {atom}", start)


def block_comment_end(text: str, start: int) -> int | None:
    """The offset after the block comment opening at `start` (comments nest), or None
    when it is not closed."""
    depth = 0
    for m in _COMMENT_PART.finditer(text, start):
        depth += 1 if m.group() == "(;" else -1
        if depth == 0:
            return m.end()
    return None


def _skip_block_comment(toks: Tokens, start: int) -> int:
    end = block_comment_end(toks.text, start)
    if end is None:
        raise toks.error("unexpected end of input: unclosed comment", start)
    return end


def _skip_annotation(toks: Tokens, start: int) -> int:
    """Annotations `(@id ...)` (the annotations proposal) carry nothing aot encodes: the
    whole balanced group is skipped, strings and comments inside it included."""
    text = toks.text
    pos = start + 1
    depth = 1
    while True:
        m = _TOKEN.match(text, pos)
        comment, annotation, lparen, rparen, atom, other = m.groups()
        pos = m.end()
        if comment is not None:
            pos = _skip_block_comment(toks, m.start(1))
        elif lparen is not None or annotation is not None:
            depth += 1
        elif rparen is not None:
            depth -= 1
            if depth == 0:
                return pos
        elif other is not None and other == '"':
            raise toks.error("unclosed string literal", m.start(6))
        elif m.lastindex is None:
            raise toks.error("unexpected end of input: unclosed annotation", start)


_ESCAPE = re.compile(r"\\(?:([0-9a-fA-F]{2})|u\{([0-9a-fA-F](?:_?[0-9a-fA-F])*)\}|([nrt\\'\"]))|\\")
_SIMPLE = {"n": b"\n", "r": b"\r", "t": b"\t", "\\": b"\\", "'": b"'", '"': b'"'}
_CONTROL = re.compile("[\x00-\x1f\x7f]")


def string_bytes(toks: Tokens, raw: str, offset: int) -> bytes:
    """The bytes a string token stands for.  `raw` is the text between the quotes and
    `offset` where it starts in the source (for errors)."""
    bad = _CONTROL.search(raw)
    if bad:
        raise toks.error("illegal control character in string literal", offset + bad.start())
    if "\\" not in raw:
        return raw.encode("utf-8")
    out = bytearray()
    pos = 0
    for m in _ESCAPE.finditer(raw):
        out += raw[pos : m.start()].encode("utf-8")
        hexbyte, codepoint, simple = m.groups()
        if hexbyte is not None:
            out.append(int(hexbyte, 16))
        elif codepoint is not None:
            value = int(codepoint.replace("_", ""), 16)
            if value >= 0x110000 or 0xD800 <= value < 0xE000:
                raise toks.error("malformed UTF-8 encoding: \\u{...} is not a character",
                                 offset + m.start())
            out += chr(value).encode("utf-8")
        elif simple is not None:
            out += _SIMPLE[simple]
        else:
            raise toks.error("illegal escape", offset + m.start())
        pos = m.end()
    out += raw[pos:].encode("utf-8")
    return bytes(out)


def utf8(toks: Tokens, data: bytes, offset: int) -> str:
    """A name: the bytes of a string, which must be valid UTF-8."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise toks.error("malformed UTF-8 encoding", offset) from None
