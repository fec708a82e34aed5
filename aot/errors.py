"""The project's exceptions.  Every failure a user can cause surfaces as one of these,
with a sentence that says what went wrong and where."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

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

    def __reduce__(self):  # raised in a compile worker, re-raised in the caller
        return type(self), (self.message, self.offset, self.func_index)

    def at_function(self, func_index: int) -> CompileError:
        """The same error, placed in function `func_index`."""
        cls, args = self.__reduce__()
        return cls(*args[:-1], func_index)


class NotSupportedError(CompileError):
    """A valid module uses a feature aot does not implement yet."""

    def __init__(self, feature: str, offset: int | None = None, func_index: int | None = None):
        super().__init__(f"not supported: {feature}", offset, func_index)
        self.feature = feature

    def __reduce__(self):
        return type(self), (self.feature, self.offset, self.func_index)


class LinkError(AotError):
    """Imports do not match what the module needs (missing, wrong kind, wrong type)."""


class ArtifactError(AotError):
    """A compiled artifact cannot be loaded: corrupt, truncated, foreign or incompatible."""


class IncompatibleArtifactError(ArtifactError):
    """An intact artifact this process cannot run: another aot or LLVM, a CPU lacking
    features it uses, other options than expected.  `aot.load(..., rebuild=True)`
    recompiles one that carries its wasm (`CompileOptions.embed_wasm`)."""


class Exit(AotError):
    """A WASI program called proc_exit: `code` is its exit status.  Raised out of the
    wasm call that reached proc_exit, after unwinding the wasm stack."""

    def __init__(self, code: int):
        super().__init__(f"the WASI program exited with code {code}")
        self.code = code


@dataclass(frozen=True)
class Frame:
    """One frame of a wasm backtrace (innermost first).  A host function between wasm
    frames appears as a frame with `is_host` set."""

    func_index: int | None
    func_name: str
    module_name: str
    module_offset: int | None  # byte offset in the module of the instruction
    is_host: bool = False

    def __str__(self) -> str:
        if self.is_host:
            return f"<host function {self.func_name}>"
        where = f"{self.module_offset:#8x} - " if self.module_offset is not None else ""
        return f"{where}{self.module_name}!{self.func_name}"


class Trap(AotError):
    """WebAssembly code trapped.  `code` is a `TrapCode`; the message uses the field's
    words; `frames` is the wasm backtrace (innermost first), worked out on first use."""

    def __init__(self, code: TrapCode, message: str | None = None,
                 frames: Callable[[], list[Frame]] | list[Frame] | None = None):
        self.code = code
        self.message = message or code.message
        self._frames = frames
        super().__init__(self.message)

    @property
    def frames(self) -> list[Frame]:
        if callable(self._frames):
            self._frames = self._frames()
        return list(self._frames or [])

    def _extend(self, more: Callable[[], list[Frame]]) -> None:
        """Frames of the wasm that called the host function this trap passed through."""
        inner = self._frames

        def combined() -> list[Frame]:
            first = inner() if callable(inner) else list(inner or [])
            return first + more()

        self._frames = combined

    @property
    def backtrace(self) -> str:
        frames = self.frames
        if not frames:
            return ""
        lines = [f"{i:>5}: {f}" for i, f in enumerate(frames)]
        return "wasm backtrace:\n" + "\n".join(lines)

    def __str__(self) -> str:
        bt = self.backtrace
        return f"{self.message}\n{bt}" if bt else self.message
