"""The compile benchmark's helpers (bench/test_compile.py): the edit for its rebuild rows
(`edited_module`: new code in one function, same size, same results), and the least
time LLVM's own work allows (`llvm_only_s`, the "LLVM alone" ratios).  No benchmarking."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(1, str(Path(__file__).resolve().parent.parent))

import aot  # noqa: E402
from aot.codegen import CompileOptions, CompileProfile  # noqa: E402
from bench.test_compile import Summary, edited_module, llvm_only_s  # noqa: E402
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


def test_llvm_alone_counts_llvms_phases_only_spread_over_the_jobs():
    phases = {"decode": 0.5, "plan": 0.1, "ir": 4.0, "optimize": 3.0, "emit": 5.0, "link": 0.3}
    assert llvm_only_s(phases, 2) == 4.0
    assert llvm_only_s(phases, 1) == 8.0
    row = {"wasmtime_s": 0.5, "aot_o2_s": 10.0,
           "aot": {"O2": {"llvm_only_s": 4.0, "peak_rss_mb": 1, "cpu_per_wall": 2,
                          "artifact_bytes": 1024, "code_bytes": 512}},
           "wasm_bytes": 1024}
    done = Summary.finish(row)
    assert done["o2_ratio"] == 20.0 and done["o2_llvm_only_ratio"] == 8.0
    assert "o0_llvm_only_ratio" not in done  # no -O0 row measured


def test_a_compiles_profile_has_the_cpu_time_of_llvms_phases():
    """What the benchmark's "LLVM alone" reads: the units' optimize and emit CPU
    seconds, measured whichever process ran them."""
    body = "".join(f"(func (export \"f{k}\") (param i32) (result i32) "
                   f"(i32.mul (i32.add (local.get 0) (i32.const {k})) (local.get 0)))" for k in range(40))
    profile = CompileProfile()
    aot.compile_artifact(wat(f"(module {body})"), CompileOptions(opt_level=2), profile=profile,
                         cache=False)
    assert profile.seconds["optimize"] > 0 and profile.seconds["emit"] > 0
    assert llvm_only_s(profile.seconds, profile.jobs) > 0
