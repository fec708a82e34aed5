"""A cursor over the tokens of one text, with the readers every part of the parser shares:
keywords, identifiers, strings, names, unsigned integers, and errors worded like the
reference interpreter's.

Error words (the spec suite compares them): a keyword the text format does not have is an
"unknown operator"; a token the grammar does not allow where it stands is an "unexpected
token"; running out of text is an "unexpected end".
"""

from __future__ import annotations

from aot.wasm.opcodes import OPCODES_BY_NAME
from aot.wat import numbers
from aot.wat.errors import WatError
from aot.wat.lexer import EOF, ID, KW, LP, NUM, RP, STR, Tokens, string_bytes, utf8

# Every keyword of the text format (and of .wast scripts, whose keywords the reference
# interpreter's lexer knows too): one of these in the wrong place is an unexpected token,
# any other keyword an unknown operator.
_STRUCTURE = """
    module type func param result local global table memory elem data offset item declare
    import export start mut then else end block loop if select funcref externref ref null
    extern shared i32 i64 f32 f64 v128 i8 i16 i8x16 i16x8 i32x4 i64x2 f32x4 f64x2 binary
    quote definition instance inf nan nan:canonical nan:arithmetic rec sub final struct
    array field tag try catch catch_all delegate try_table catch_ref catch_all_ref any eq
    i31 none nofunc noextern exn noexn anyref eqref i31ref structref arrayref nullref
    nullfuncref nullexternref exnref nullexnref pagesize
    script register invoke get assert_return assert_trap assert_exhaustion assert_malformed
    assert_invalid assert_unlinkable assert_uninstantiable assert_exception input output
    ref.extern ref.host either
""".split()
KEYWORDS = frozenset(_STRUCTURE) | frozenset(OPCODES_BY_NAME)


def known_keyword(word: str) -> bool:
    if word in KEYWORDS:
        return True
    key, eq, value = word.partition("=")  # offset=N and align=N are single tokens
    if eq and key in ("offset", "align") and numbers.is_nat(value):
        return True
    return numbers.is_float(word)  # inf, nan, nan:0x...


class Cursor:
    """The parser's position in the token lists (`i`), and token readers that move it."""

    __slots__ = ("toks", "kinds", "values", "offsets", "i")

    def __init__(self, toks: Tokens) -> None:
        self.toks = toks
        self.kinds = toks.kinds
        self.values = toks.values
        self.offsets = toks.offsets
        self.i = 0

    # ---- errors ----------------------------------------------------------------------

    def error(self, reason: str, i: int | None = None) -> WatError:
        return self.toks.error(reason, self.offsets[self.i if i is None else i])

    def unexpected(self, i: int | None = None) -> WatError:
        """The error for the token at `i` (default: the current one) not fitting."""
        i = self.i if i is None else i
        kind, value = self.kinds[i], self.values[i]
        if kind == EOF:
            return self.error("unexpected end of input", i)
        if kind == KW and not known_keyword(value):
            return self.error(f"unknown operator {value}", i)
        shown = {STR: f'"{value}"', ID: f"${value}"}.get(kind, value)
        return self.error(f"unexpected token {shown}", i)

    # ---- looking ahead ---------------------------------------------------------------

    def at(self, kind: str) -> bool:
        return self.kinds[self.i] == kind

    def keyword(self) -> str | None:
        """The current token if it is a keyword."""
        return self.values[self.i] if self.kinds[self.i] == KW else None

    def group(self, i: int | None = None) -> str | None:
        """The keyword after the `(` at `i` (default: the current token), if there is one:
        the head of a parenthesized group such as `(param ...)`."""
        i = self.i if i is None else i
        if self.kinds[i] == LP and self.kinds[i + 1] == KW:
            return self.values[i + 1]
        return None

    def at_group(self, word: str) -> bool:
        i = self.i
        return self.kinds[i] == LP and self.kinds[i + 1] == KW and self.values[i + 1] == word

    # ---- consuming -------------------------------------------------------------------

    def take_keyword(self, word: str) -> bool:
        if self.kinds[self.i] == KW and self.values[self.i] == word:
            self.i += 1
            return True
        return False

    def expect_keyword(self, word: str) -> None:
        if not self.take_keyword(word):
            raise self.unexpected()

    def open(self, word: str) -> int:
        """Consume `(word`; returns the index of the `(`."""
        i = self.i
        if not (self.kinds[i] == LP and self.kinds[i + 1] == KW and self.values[i + 1] == word):
            raise self.unexpected(i + 1 if self.kinds[i] == LP else i)
        self.i = i + 2
        return i

    def close(self) -> None:
        if self.kinds[self.i] != RP:
            raise self.unexpected()
        self.i += 1

    def skip_group(self) -> None:
        """Move past the parenthesized group starting at the current `(`."""
        self.i = self.toks.after(self.i)

    def take_id(self) -> str | None:
        if self.kinds[self.i] == ID:
            self.i += 1
            return self.values[self.i - 1]
        return None

    def string(self) -> bytes:
        i = self.i
        if self.kinds[i] != STR:
            raise self.unexpected()
        self.i += 1
        return string_bytes(self.toks, self.values[i], self.offsets[i] + 1)

    def name(self) -> str:
        """A string that must be valid UTF-8 (import and export names)."""
        i = self.i
        return utf8(self.toks, self.string(), self.offsets[i])

    def at_nat(self) -> bool:
        return self.kinds[self.i] == NUM and numbers.is_nat(self.values[self.i])

    def nat(self, bits: int = 32) -> int:
        """An unsigned integer of at most `bits` bits (u32 by default)."""
        i = self.i
        if not self.at_nat():
            raise self.unexpected()
        value = numbers.nat(self.values[i])
        if value >> bits:
            raise self.error(f"i{bits} constant out of range: {self.values[i]}", i)
        self.i += 1
        return value


__all__ = ["EOF", "ID", "KW", "LP", "NUM", "RP", "STR", "Cursor", "known_keyword"]
