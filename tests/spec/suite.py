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


# The proposals aot implements, whose scripts run beside the core ones.
PROPOSALS = ("extended-const", "tail-call", "multi-memory")


def proposal_scripts() -> list[Path]:
    return [p for name in PROPOSALS for p in sorted((suite_dir() / "proposals" / name).glob("*.wast"))]


def script_name(path: Path) -> str:
    """`i32` for a core script, `tail-call/return_call` for a proposal's."""
    return path.stem if path.parent.name == "core" else f"{path.parent.name}/{path.stem}"


def proposals_for(script: Path) -> bool:
    """Whether a script runs with the multi-memory, memory64 and threads proposals: not
    the core ones, which are WebAssembly 2.0's and test the zero bytes where multi-memory
    puts a memory index, the u32 offsets memory64 widens and the limits flags threads
    gives a meaning."""
    return script.parent.name != "core"
