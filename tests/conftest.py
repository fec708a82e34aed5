"""Shared helpers: modules are written in the text format and turned into binary with
wasmtime's wat2wasm (a test dependency), so that the compiler's tests do not rest on aot's
own text parser (`aot.wat`, tested against that same wat2wasm in tests/wat)."""

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


def checked_bodies(monkeypatch) -> list[int]:
    """The function indices whose bodies the validator checks, from now on."""
    from aot.wasm import validator

    checked: list[int] = []
    real = validator._FuncChecker.__init__

    def spy(self, c, index, body):
        checked.append(index)
        real(self, c, index, body)

    monkeypatch.setattr(validator._FuncChecker, "__init__", spy)
    return checked


@pytest.fixture
def instantiate():
    def make(text: str, imports=None, opt_level: int = 2, store=None) -> aot.Instance:
        return aot.compile(wat(text), opt_level=opt_level).instantiate(imports, store=store)

    return make


def pytest_sessionstart(session):
    """Keep the checkout's cache bounded: every edit of aot's sources changes the build
    id, so earlier entries are never used again; drop the least recently used first."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return  # the controller does it once
    from aot.cache import Cache, parse_size

    Cache(os.environ["AOT_CACHE_DIR"]).prune(parse_size(os.environ.get("AOT_TEST_CACHE_MAX", "400M")))

