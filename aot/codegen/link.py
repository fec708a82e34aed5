"""ELF relocatable object -> ELF shared object, with the system linker.

Kept in one small module on purpose: it is the only place that needs a tool outside
the Python dependencies, and it is due to be replaced by aot's own ELF writer."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile

from aot.errors import AotError

LINKER_CANDIDATES = ("ld.lld", "ld", "ld.gold", "ld.bfd")


class LinkerNotFound(AotError):
    pass


def find_linker() -> str:
    for name in LINKER_CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    raise LinkerNotFound(
        "no system linker found: aot needs one of "
        + ", ".join(LINKER_CANDIDATES)
        + " on PATH to write a shared object (install binutils or lld)"
    )


def link_shared_object(obj: bytes) -> bytes:
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
