"""Types in the text format: value and reference types, function types and type uses,
limits.  Types come out already encoded (`bytes`), which is also what makes two inline
function types equal when their encodings are."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from aot.errors import NotSupportedError
from aot.wat.cursor import ID, KW, LP, NUM, Cursor
from aot.wat.encoder import sleb, uleb

VALTYPES = {
    "i32": b"\x7f", "i64": b"\x7e", "f32": b"\x7d", "f64": b"\x7c", "v128": b"\x7b",
    "funcref": b"\x70", "externref": b"\x6f",
}
# Abstract heap types of 2.0, as the byte of their nullable reference type.
HEAPTYPES = {"func": 0x70, "extern": 0x6F}
_EXCEPTION_TYPES = {"exn", "noexn", "exnref", "nullexnref"}
_GC_TYPES = {"any", "eq", "i31", "struct", "array", "none", "nofunc", "noextern", "anyref",
             "eqref", "i31ref", "structref", "arrayref", "nullref", "nullfuncref",
             "nullexternref"}

IndexReader = Callable[[Cursor], int]  # reads a type index ($name or number)


def refuse(c: Cursor, proposal: str, what: str, i: int | None = None) -> NotSupportedError:
    """A construct of a proposal aot does not parse: NotSupportedError, placed."""
    line, column = c.toks.where(c.offsets[c.i if i is None else i])
    return NotSupportedError(f"{proposal}: {what} (line {line}, column {column})")


def _refuse_type(c: Cursor, word: str) -> NotSupportedError:
    proposal = "exception handling" if word in _EXCEPTION_TYPES else "GC"
    return refuse(c, proposal, word)


def heaptype(c: Cursor, type_index: IndexReader) -> bytes:
    """`func`, `extern` or a type index (function references), encoded as a heap type."""
    word = c.keyword()
    if word in HEAPTYPES:
        c.i += 1
        return bytes([HEAPTYPES[word]])
    if word in _GC_TYPES or word in _EXCEPTION_TYPES:
        raise _refuse_type(c, word)
    if c.at(ID) or c.at(NUM):
        return sleb(type_index(c))
    raise c.unexpected()


def valtype(c: Cursor, type_index: IndexReader) -> bytes:
    word = c.keyword()
    if word is not None:
        t = VALTYPES.get(word)
        if t is not None:
            c.i += 1
            return t
        if word in _GC_TYPES or word in _EXCEPTION_TYPES:
            raise _refuse_type(c, word)
        raise c.unexpected()
    if c.at_group("ref"):  # (ref null? heaptype)
        c.i += 2
        nullable = c.take_keyword("null")
        heap = heaptype(c, type_index)
        c.close()
        if len(heap) == 1 and heap[0] in HEAPTYPES.values():
            return heap if nullable else b"\x64" + heap  # (ref null func) is funcref
        return (b"\x63" if nullable else b"\x64") + heap
    raise c.unexpected()


def reftype(c: Cursor, type_index: IndexReader) -> bytes:
    i = c.i
    t = valtype(c, type_index)
    if t[0] in (0x7F, 0x7E, 0x7D, 0x7C, 0x7B):
        raise c.unexpected(i)
    return t


@dataclass
class TypeUse:
    """`(type x)? (param ...)* (result ...)*` as written: the index (None when absent),
    the inline parameters and results (encoded), and the parameters' names."""

    index: int | None = None
    index_at: int = 0  # token of the index, for errors
    params: list[bytes] = field(default_factory=list)
    results: list[bytes] = field(default_factory=list)
    names: list[str | None] = field(default_factory=list)
    inline: bool = False  # some (param ...) or (result ...) was written

    @property
    def key(self) -> tuple[tuple[bytes, ...], tuple[bytes, ...]]:
        return tuple(self.params), tuple(self.results)


def params_and_results(c: Cursor, use: TypeUse, type_index: IndexReader,
                       allow_names: bool) -> None:
    """The `(param ...)* (result ...)*` of a function type or type use, into `use`.
    Params after results, and names where none are allowed (block types, call_indirect),
    are unexpected tokens, as in the spec's grammar."""
    kinds, values = c.kinds, c.values
    while kinds[c.i] == LP and kinds[c.i + 1] == KW and values[c.i + 1] == "param":
        use.inline = True
        c.i += 2
        if c.at(ID):
            if not allow_names:
                raise c.unexpected()
            use.names.append(c.take_id())
            use.params.append(valtype(c, type_index))
        else:
            while not c.at(")"):
                use.names.append(None)
                use.params.append(valtype(c, type_index))
        c.close()
    while kinds[c.i] == LP and kinds[c.i + 1] == KW and values[c.i + 1] == "result":
        use.inline = True
        c.i += 2
        while not c.at(")"):
            use.results.append(valtype(c, type_index))
        c.close()
    if kinds[c.i] == LP and kinds[c.i + 1] == KW and values[c.i + 1] == "param":
        raise c.unexpected(c.i + 1)  # params after results


def typeuse(c: Cursor, type_index: IndexReader, allow_names: bool) -> TypeUse:
    use = TypeUse()
    if c.at_group("type"):
        c.i += 2
        use.index_at = c.i
        use.index = type_index(c)
        c.close()
    params_and_results(c, use, type_index, allow_names)
    return use


def functype(c: Cursor, type_index: IndexReader) -> TypeUse:
    """`(func (param ...)* (result ...)*)` of a type definition."""
    c.open("func")
    use = TypeUse()
    params_and_results(c, use, type_index, allow_names=True)
    c.close()
    return use


def limits(c: Cursor, bits: int) -> tuple[int, int | None]:
    minimum = c.nat(bits)
    maximum = c.nat(bits) if c.at_nat() else None
    return minimum, maximum


def address_type(c: Cursor) -> bool:
    """An optional `i32` / `i64` before limits (memory64, table64): True for i64."""
    if c.take_keyword("i64"):
        return True
    c.take_keyword("i32")
    return False


def limits_bytes(flags: int, minimum: int, maximum: int | None) -> bytes:
    """Limits with the flags of their type (shared 0x02, 64-bit 0x04); max adds 0x01."""
    if maximum is None:
        return bytes([flags]) + uleb(minimum)
    return bytes([flags | 1]) + uleb(minimum) + uleb(maximum)
