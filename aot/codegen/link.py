"""ELF relocatable object -> ELF shared object.

aot writes the shared object itself (`aot.codegen.elfwriter`), so compiling needs
nothing beyond the Python dependencies.  For debugging the writer, `AOT_LINKER=system`
links with the system linker instead (ld.lld, ld, ld.gold or ld.bfd on PATH), with the
options that give the same kind of artifact."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile

from aot.codegen.elfwriter import write_shared_object
from aot.errors import AotError

LINKER_ENV = "AOT_LINKER"
LINKER_CANDIDATES = ("ld.lld", "ld", "ld.gold", "ld.bfd")


class LinkerNotFound(AotError):
    pass


def link_shared_object(obj: bytes) -> bytes:
    """Link the object LLVM emitted into the bytes of a shared object."""
    choice = os.environ.get(LINKER_ENV, "")
    if choice in ("", "aot"):
        return write_shared_object(obj)
    if choice == "system":
        return link_with_system_linker(obj)
    raise AotError(f"{LINKER_ENV}={choice!r}: expected 'aot' (the default) or 'system'")


def find_linker() -> str:
    for name in LINKER_CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    raise LinkerNotFound(
        f"{LINKER_ENV}=system but no system linker found: install binutils or lld "
        "(one of " + ", ".join(LINKER_CANDIDATES) + " on PATH), or unset " + LINKER_ENV
    )


def link_with_system_linker(obj: bytes) -> bytes:
    linker = find_linker()
    with tempfile.TemporaryDirectory(prefix="aot-link-") as tmp:
        obj_path = os.path.join(tmp, "module.o")
        so_path = os.path.join(tmp, "module.so")
        with open(obj_path, "wb") as f:
            f.write(obj)
        cmd = [
            linker, "-shared", "--eh-frame-hdr", "-z", "noexecstack", "-z", "relro",
            "--hash-style=gnu", "--build-id=none", "-o", so_path, obj_path,
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise AotError(f"linking the shared object failed ({' '.join(cmd)}):\n{proc.stderr.strip()}")
        with open(so_path, "rb") as f:
            return f.read()
