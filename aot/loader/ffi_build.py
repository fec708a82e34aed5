"""Writes `aot/loader/_cffi_abi.py`: the loader's FFI in cffi's out-of-line ABI mode.

In-line ABI mode parses the C declarations with pycparser in every process (tens of
milliseconds at import); the out-of-line module carries them pre-parsed.  No C compiler
is involved.  The file is generated, committed, and checked by a test against
`aot.loader.cdecls`; regenerate it with `python -m aot.loader.ffi_build`.  When it is
missing or stale, `aot.loader.ffi` falls back to parsing at import."""

from __future__ import annotations

import zlib
from pathlib import Path

from aot.loader.cdecls import DECLARATIONS

MODULE = "aot.loader._cffi_abi"
TARGET = Path(__file__).with_name("_cffi_abi.py")


def declarations_crc() -> int:
    return zlib.crc32(DECLARATIONS.encode())


def source() -> str:
    """The text of the generated module."""
    import tempfile

    import cffi

    builder = cffi.FFI()
    builder.cdef(DECLARATIONS)
    builder.set_source(MODULE, None)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "gen.py"
        builder.emit_python_code(str(out))
        text = out.read_text()
    return text + f"\nDECLARATIONS_CRC = {declarations_crc()}\n"


def main() -> None:
    TARGET.write_text(source())
    print(f"wrote {TARGET}")


if __name__ == "__main__":
    main()
