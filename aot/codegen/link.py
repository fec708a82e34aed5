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
from collections.abc import Sequence

from aot.codegen.elfwriter import Blob, write_shared_object
from aot.errors import AotError

LINKER_ENV = "AOT_LINKER"
LINKER_CANDIDATES = ("ld.lld", "ld", "ld.gold", "ld.bfd")


class LinkerNotFound(AotError):
    pass


def link_shared_object(objects: bytes | Sequence[bytes], blobs: Sequence[Blob] = ()) -> bytes:
    """Link the objects LLVM emitted, and the bulk data, into the bytes of a shared
    object."""
    if isinstance(objects, (bytes, bytearray)):
        objects = [objects]
    choice = os.environ.get(LINKER_ENV, "")
    if choice in ("", "aot"):
        return write_shared_object(objects, blobs=blobs)
    if choice == "system":
        return link_with_system_linker(objects, blobs)
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


def link_with_system_linker(objects: Sequence[bytes], blobs: Sequence[Blob] = ()) -> bytes:
    from aot.codegen.elfwriter.layout import UNLOADED_SECTIONS
    from aot.codegen.elfwriter.objfile import without_alloc_flag

    linker = find_linker()
    objects = [without_alloc_flag(obj, UNLOADED_SECTIONS) for obj in objects]
    if blobs:
        objects = [*objects, blob_ir_object(blobs)]
    with tempfile.TemporaryDirectory(prefix="aot-link-") as tmp:
        obj_paths = []
        for k, obj in enumerate(objects):
            obj_paths.append(os.path.join(tmp, f"unit{k}.o"))
            with open(obj_paths[-1], "wb") as f:
                f.write(obj)
        so_path = os.path.join(tmp, "module.so")
        cmd = [
            linker, "-shared", "--eh-frame-hdr", "-z", "noexecstack", "-z", "relro",
            "--hash-style=gnu", "--build-id=none", "-o", so_path, *obj_paths,
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise AotError(f"linking the shared object failed ({' '.join(cmd)}):\n{proc.stderr.strip()}")
        with open(so_path, "rb") as f:
            return f.read()


def blob_ir_object(blobs: Sequence[Blob]) -> bytes:
    """The bulk data as an object of its own, through LLVM: for the system linker only
    (aot's writer takes blobs as they are)."""
    import llvmlite.binding as llvm
    from llvmlite import ir

    from aot.codegen.emit import host_triple, target_machine
    from aot.codegen.options import CompileOptions

    module = ir.Module(name="blobs")
    module.triple = host_triple()
    for blob in blobs:
        ty = ir.ArrayType(ir.IntType(8), len(blob.data))
        g = ir.GlobalVariable(module, ty, name=blob.symbol)
        g.storage_class = "hidden"
        g.global_constant = True
        g.align = blob.align
        g.initializer = ir.Constant(ty, bytearray(blob.data))
    return target_machine(CompileOptions(opt_level=0)).emit_object(llvm.parse_assembly(str(module)))
