"""The WebAssembly text format: `wat2wasm(text)` turns a module in the text format into
its binary, as wasm-tools (wasmtime's `wat2wasm`) does, byte for byte.

    aot.wat2wasm('(module (func (export "one") (result i32) i32.const 1))')

Accepted: the text format of WebAssembly 2.0 with every abbreviation, plus the syntax of
tail calls, extended constant expressions, multi-memory, memory64, threads and relaxed
SIMD (encoded; `aot.compile` then refuses what it does not implement, by name), and the
`(module binary ...)` / `(module quote ...)` forms of .wast scripts.  Exception handling,
GC and custom page sizes raise `aot.NotSupportedError`.  Malformed text raises `WatError`
with the line and column.

Modules: `lexer` (tokens), `numbers` (literals), `cursor` (token readers, error words),
`types`, `instructions`, `parser` (module fields), `encoder` (the binary).
"""

from __future__ import annotations

import re

from aot.wat.cursor import EOF, ID, KW, STR, Cursor
from aot.wat.encoder import encode
from aot.wat.errors import WatError
from aot.wat.lexer import block_comment_end, tokenize
from aot.wat.parser import ModuleParser

_WASM_MAGIC = b"\0asm"


def wat2wasm(text: str | bytes) -> bytes:
    """The binary of a module in the text format (`str`, or UTF-8 `bytes`).

    The text is `(module $name? field*)`, bare fields, `(module binary "..."*)` (whose
    bytes are returned as they are) or `(module quote "..."*)` (whose strings are the
    text).  Raises `WatError` (a `CompileError`) saying what is malformed and where."""
    if isinstance(text, (bytes, bytearray, memoryview)):
        text = bytes(text).decode("utf-8", errors="surrogateescape")  # bad bytes: the lexer
    c = Cursor(tokenize(text))
    if c.at_group("module"):
        j = c.i + 2 + (c.kinds[c.i + 2] == ID)
        if c.kinds[j] == KW and c.values[j] in ("binary", "quote"):
            c.i = j + 1
            parts = []
            while c.at(STR):
                parts.append(c.string())
            c.close()
            if not c.at(EOF):
                raise c.unexpected()
            data = b"".join(parts)
            if c.values[j] == "binary":
                return data
            return wat2wasm(data)
    return encode(ModuleParser(c).parse())


_SPACE = re.compile(r"(?:[ \t\n\r]+|;;[^\n\r]*)*")  # whitespace and line comments


def is_text(source: str | bytes) -> bool:
    """Whether `source` is a module in the text format rather than a path (for a `str`) or
    a binary module (for bytes): its first token, after whitespace and comments, is `(`.
    Bytes starting with the wasm magic are binary, whatever follows."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        source = bytes(source)
        if source[:4] == _WASM_MAGIC:
            return False
        source = source.decode("utf-8", errors="surrogateescape")
    pos = 0
    while True:
        pos = _SPACE.match(source, pos).end()
        if not source.startswith("(;", pos):
            return source.startswith("(", pos)
        end = block_comment_end(source, pos)
        if end is None:
            return False
        pos = end


__all__ = ["WatError", "is_text", "wat2wasm"]
