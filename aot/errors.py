"""The project's exceptions.  Every failure a user can cause surfaces as one of these,
with a sentence that says what went wrong and where."""

from __future__ import annotations

from aot.abi.traps import TrapCode


class AotError(Exception):
    """Base class of every aot error."""


class CompileError(AotError):
    """The wasm module is malformed or invalid, or uses something not supported yet.

    `offset` is the byte offset in the module, `func_index` the function (in the function
    index space) where the problem is, when there is one.
    """

    def __init__(self, message: str, offset: int | None = None, func_index: int | None = None):
        self.message = message
        self.offset = offset
        self.func_index = func_index
        where = []
        if func_index is not None:
            where.append(f"function {func_index}")
        if offset is not None:
            where.append(f"at byte offset 0x{offset:x}")
        super().__init__(f"{message} ({', '.join(where)})" if where else message)


class NotSupportedError(CompileError):
    """A valid module uses a feature aot does not implement yet."""

    def __init__(self, feature: str, offset: int | None = None, func_index: int | None = None):
        super().__init__(f"not supported: {feature}", offset, func_index)
        self.feature = feature


class LinkError(AotError):
    """Imports do not match what the module needs (missing, wrong kind, wrong type)."""


class ArtifactError(AotError):
    """A compiled artifact cannot be loaded: corrupt, truncated, foreign or incompatible."""


class Trap(AotError):
    """WebAssembly code trapped.  `code` is a `TrapCode`; the message uses the field's words."""

    def __init__(self, code: TrapCode, message: str | None = None):
        self.code = code
        self.message = message or code.message
        super().__init__(self.message)
