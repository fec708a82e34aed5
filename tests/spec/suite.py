"""Where the WebAssembly test suite is."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def suite_dir() -> Path:
    """AOT_WASM_TESTSUITE (or AOT_SPEC_DIR, the name the suite's README uses), else
    ../shared/wasm-testsuite relative to the repository root."""
    env = os.environ.get("AOT_WASM_TESTSUITE") or os.environ.get("AOT_SPEC_DIR")
    if env:
        return Path(env).expanduser().resolve()
    return (REPO_ROOT / ".." / "shared" / "wasm-testsuite").resolve()


def core_scripts() -> list[Path]:
    return sorted((suite_dir() / "core").glob("*.wast"))
