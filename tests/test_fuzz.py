"""A short, seeded fuzz run (`tests/fuzz/`, issue 15): a few differential cases against
wasmtime-py at -O0 and -O2, mutated modules, mutated artifacts.  Every case must agree or
end in aot's own exception: no difference, no foreign exception, no crash, no hang.
`python -m tests.fuzz --minutes N` runs the same campaigns for long."""

from __future__ import annotations

import os

import pytest

from tests.fuzz.campaigns import have_binaryen
from tests.fuzz.driver import run

CASES = ([("differential", seed) for seed in range(4)]
         + [("wasm", seed) for seed in range(60)]
         + [("artifact", seed) for seed in range(600)])


@pytest.fixture(scope="module", autouse=True)
def binaryen():
    if not have_binaryen():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("binaryen's wasm-opt is missing; .ci/run installs the Debian package")
        pytest.skip("binaryen's wasm-opt is not on PATH (Debian package binaryen)")


def test_a_short_seeded_fuzz_run_finds_nothing():
    report = run(CASES, jobs=2)
    assert sum(report.cases.values()) == len(CASES)
    assert report.clean, report.summary()
