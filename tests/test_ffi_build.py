"""The loader's pre-parsed FFI (cffi out-of-line ABI mode) matches its declarations, and
is the one in use: importing the loader parses no C."""

from __future__ import annotations

import subprocess
import sys

from aot.loader import ffi_build


def test_generated_ffi_module_is_up_to_date():
    assert ffi_build.TARGET.read_text() == ffi_build.source(), (
        "aot/loader/_cffi_abi.py is stale: run `python -m aot.loader.ffi_build`")


def test_loading_parses_no_c_declarations(tmp_path):
    """pycparser (cffi's C parser) is never imported by a process that loads and calls."""
    import aot

    path = aot.compile_file(b"\0asm\1\0\0\0", tmp_path / "empty.so")
    code = ("import sys, aot\n"
            f"aot.load({str(path)!r}).instantiate()\n"
            "print('pycparser' in sys.modules, 'llvmlite.binding' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
