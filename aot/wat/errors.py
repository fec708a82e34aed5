"""The text parser's error: a `CompileError` placed by line and column instead of a byte
offset, since the input is text."""

from __future__ import annotations

from aot.errors import CompileError


class WatError(CompileError):
    """Malformed WebAssembly text: `line 3, column 14: unknown operator i32.ad`.

    `line` and `column` count from 1 (columns in characters); `reason` is the sentence
    without the place, worded like the spec's reference interpreter where the spec suite
    checks the words ("unknown operator", "unexpected token", "constant out of range")."""

    def __init__(self, reason: str, line: int | None = None, column: int | None = None,
                 path: str | None = None):
        self.reason = reason
        self.line = line
        self.column = column
        self.path = path  # the file, when the text came from one
        where = f"line {line}, column {column}: " if line is not None else ""
        super().__init__((f"{path}: " if path else "") + where + reason)

    def __reduce__(self):
        return type(self), (self.reason, self.line, self.column, self.path)

    def at_function(self, func_index: int) -> WatError:
        return self  # placed by line and column already
