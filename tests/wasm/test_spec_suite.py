"""Every module of the spec test suite through `parse`: the valid ones must pass, the
`assert_invalid` and `assert_malformed (module binary ...)` ones must fail with the
suite's message (the reference interpreter's test: the expected text is a prefix).
Each also through `parse(..., keep_bodies=False)` (bodies checked as decoded, then
dropped: what a compile does): the same outcome, the same error at the same place."""

from __future__ import annotations

import pytest

from aot.errors import CompileError
from aot.wasm import parse

from .wast_scan import SUITE, module_bytes, scan_file, suite_dir

_DIR = suite_dir()
_FILES = sorted(p.name for p in _DIR.glob("*.wast")) if _DIR else ["<suite missing>"]


def _parse_error(data: bytes, keep_bodies: bool) -> CompileError | None:
    """What `parse` raises for `data` as WebAssembly 2.0 (the core scripts are its)."""
    try:
        parse(data, multi_memory=False, memory64=False, threads=False, keep_bodies=keep_bodies)
    except CompileError as e:
        return e
    return None


def _said(e: CompileError | None) -> tuple | None:
    return None if e is None else (type(e).__name__, e.message, e.offset, e.func_index)


def check_file(name: str) -> tuple[int, list[str]]:
    """(modules checked, problems) for one .wast file."""
    problems = []
    count = 0
    for mod in scan_file(SUITE / name):
        where = f"{mod.file}:{mod.line}"
        data = module_bytes(mod)
        count += 1
        error, dropped = _parse_error(data, True), _parse_error(data, False)
        if _said(error) != _said(dropped):
            problems.append(f"{where}: parsed keeping bodies: {_said(error)}; "
                            f"dropping them: {_said(dropped)}")
        if error is not None:
            if mod.expect == "valid":
                problems.append(f"{where}: valid module rejected: {error}")
            # As the spec runner and wasmtime's wast runner: the expected words appear in
            # the message (a post-2.0 proposal's refusal names it first).
            elif (mod.message or "") not in error.message:
                problems.append(f"{where}: expected {mod.message!r}, got {error.message!r}")
            continue
        if mod.expect != "valid":
            problems.append(f"{where}: {mod.expect} module accepted (expected {mod.message!r})")
    return count, problems


@pytest.mark.parametrize("name", _FILES)
def test_spec_modules(name: str) -> None:
    from .wast_scan import require_suite

    require_suite()
    _count, problems = check_file(name)
    assert problems == []


if __name__ == "__main__":  # python -m tests.wasm.test_spec_suite: a summary
    total, bad = 0, []
    for f in _FILES:
        n, p = check_file(f)
        total += n
        bad += p
    print(f"{total} modules, {len(bad)} problems")
    print("\n".join(bad))
