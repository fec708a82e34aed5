"""Shared helpers: modules are written in the text format and turned into binary with
wasmtime's wat2wasm (a test dependency; the text parser is not aot's)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import wasmtime

# Tests compile into the checkout's cache/ (content-addressed, ignored by git), so a rerun
# reuses what the last run compiled.  Set before aot is used; child processes inherit it.
os.environ.setdefault("AOT_CACHE_DIR", str(Path(__file__).resolve().parent.parent / "cache"))

import aot  # noqa: E402


def wat(text: str) -> bytes:
    return wasmtime.wat2wasm(text)


@pytest.fixture
def instantiate():
    def make(text: str, imports=None, opt_level: int = 2, store=None) -> aot.Instance:
        return aot.compile(wat(text), opt_level=opt_level).instantiate(imports, store=store)

    return make
