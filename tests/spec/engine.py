"""Which engine the spec tests run: aot (default) or the wasmtime reference backend."""

from __future__ import annotations

import importlib
import os
from types import ModuleType

ENGINES = ("aot", "wasmtime")


def engine_name() -> str:
    return os.environ.get("AOT_SPEC_ENGINE", "aot")


def load_engine(name: str | None = None) -> ModuleType:
    """The engine module, exposing aot's API; raises ImportError if it cannot be used."""
    name = name or engine_name()
    if name == "wasmtime":
        return importlib.import_module(".wasmtime_engine", __package__)
    if name == "aot":
        aot = importlib.import_module("aot")
        missing = [n for n in ("compile", "Store", "Trap", "CompileError") if not hasattr(aot, n)]
        if missing:
            raise ImportError(f"aot does not provide {', '.join(missing)} yet")
        return aot
    raise ValueError(f"AOT_SPEC_ENGINE={name!r}: expected one of {', '.join(ENGINES)}")
