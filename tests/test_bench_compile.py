"""The compile benchmark's edit for its rebuild rows (bench/test_compile.py's
`edited_module`): new code in one function, same size, same results.  No benchmarking."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(1, str(Path(__file__).resolve().parent.parent))

import aot  # noqa: E402
from bench.test_compile import edited_module  # noqa: E402
from tests.conftest import wat  # noqa: E402

MODULE = """(module
  (func (export "first") (param i32 i32) (result i32) (i32.sub (local.get 0) (local.get 1)))
  (func (export "second") (param i32 i32) (result i32) (i32.mul (local.get 0) (local.get 1)))
  (func (export "third") (param i32 i32) (result i32) (i32.xor (local.get 1) (local.get 0))))"""


def test_the_edit_swaps_a_commutative_operators_operands(tmp_path):
    data = wat(MODULE)
    edited, func = edited_module(data)
    assert func == 1  # from the middle on: "second", whose i32.mul has two locals
    assert len(edited) == len(data) and edited != data
    changed = [k for k in range(len(data)) if data[k] != edited[k]]
    assert len(changed) == 2 and changed[1] - changed[0] == 2  # local.get 0 <-> local.get 1
    results = []
    for wasm, name in ((data, "a.so"), (edited, "b.so")):
        path = tmp_path / name
        path.write_bytes(aot.compile_artifact(wasm))
        e = aot.load(path).instantiate().exports
        results.append([e.first(9, 4), e.second(-3, 7), e.third(5, 6)])
    assert results[0] == results[1] == [5, -21, 3]

def test_a_module_with_nothing_to_swap_is_refused():
    with pytest.raises(AssertionError, match="no commutative operator"):
        edited_module(wat("(module (func (param i32) (result i32) (i32.sub (local.get 0) (local.get 0))))"))
