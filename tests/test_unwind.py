"""Native tools see named wasm frames: gdb stops inside a compiled wasm function and
unwinds through the wasm callers and the entry trampoline back into Python, using the
artifact's symbols and .eh_frame.  gdb learns of shared objects from the dynamic loader,
so the artifact is loaded with `AOT_LOADER=dlopen` (`aot.loader.mapping`)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(shutil.which("gdb") is None, reason="gdb is not installed")
def test_gdb_backtrace_shows_named_wasm_frames(tmp_path):
    script = tmp_path / "run.py"
    script.write_text(textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(ROOT)!r})
        import aot, wasmtime
        wasm = wasmtime.wat2wasm('''(module $m
          (func $inner (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
          (func $middle (param i32) (result i32) (call $inner (local.get 0)))
          (func $outer (export "outer") (param i32) (result i32) (call $middle (local.get 0))))''')
        inst = aot.compile(wasm, opt_level=0).instantiate()
        print("result", inst.exports.outer(41))
    """))
    proc = subprocess.run(
        ["gdb", "-batch", "-nx", "-ex", "set breakpoint pending on", "-ex", "set confirm off",
         "-ex", "break wasm_f0_inner", "-ex", "run", "-ex", "bt", "-ex", "continue",
         "--args", sys.executable, str(script)],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, "AOT_LOADER": "dlopen"},  # gdb finds code through the dynamic loader
    )
    out = proc.stdout
    frames = [line for line in out.splitlines() if line.startswith("#")]
    names = " ".join(frames)
    assert "wasm_f0_inner" in frames[0], out[-3000:]
    assert names.index("wasm_f1_middle") < names.index("wasm_f2_outer") < names.index("aot_entry_t")
    # ... and past the trampoline, back into the interpreter that made the call
    assert any("ffi" in f or "python" in f.lower() or "Py" in f for f in frames[4:]), out[-3000:]
    assert "result 42" in out
