"""wasi:filesystem — `types` (descriptors, directory-entry streams) and `preopens`
(the directories of the WasiConfig, as `aot run --dir` gives them), over
`descriptors.Descriptor`.  Every fallible method answers result<T, error-code>."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from aot.component.abi import Resource
from aot.component.values import Err, Ok
from aot.component.wasi.descriptors import (
    Descriptor,
    DirectoryEntries,
    descriptor_stat,
    metadata_hash,
)
from aot.component.wasi.errors import IoError, error_code
from aot.component.wasi.host import Interface
from aot.component.wasi.streams import READ_MAX, FileInput, FileOutput
from aot.wasi.errno import WasiError
from aot.wasi.fdtable import Directory

# What a preopened directory allows: everything under it, as aot's preview 1 does.
PREOPEN_FLAGS = frozenset({"read", "mutate-directory"})


def _follow(path_flags: frozenset[str]) -> bool:
    return "symlink-follow" in path_flags


def add_types(iface: Interface) -> None:
    def result(fn: Callable[[], Any]) -> Ok | Err:
        try:
            return Ok(fn())
        except (OSError, WasiError) as exc:
            return Err(error_code(exc))

    def d(r: Resource) -> Descriptor:
        return iface.get(r, Descriptor)

    def method(name: str, fn: Callable[..., Any]) -> None:
        """`[method]descriptor.NAME`: fn(descriptor, *args) inside result<_, error-code>."""
        iface.func(f"[method]descriptor.{name}",
                   lambda self, *args: result(lambda: fn(d(self), *args)))

    def stream(kind: str, make: Callable[[], Any]) -> Resource:
        return iface.new(kind, make())

    method("read-via-stream",
           lambda f, offset: stream("input-stream", lambda: FileInput(f.file(), offset)))
    method("write-via-stream", lambda f, offset: stream(
        "output-stream", lambda: FileOutput(f.file(write=True), offset)))
    method("append-via-stream", lambda f: stream(
        "output-stream", lambda: FileOutput(f.file(write=True), None)))
    method("advise", Descriptor.advise)
    method("sync-data", lambda f: f.sync(True))
    method("sync", lambda f: f.sync(False))
    method("get-flags", lambda f: f.flags)
    method("get-type", Descriptor.get_type)
    method("set-size", Descriptor.set_size)
    method("set-times", Descriptor.set_times)
    method("read", lambda f, length, offset: f.read(length, offset, READ_MAX))
    method("write", lambda f, data, offset: f.write(data, offset))
    method("read-directory",
           lambda f: iface.new("directory-entry-stream", f.entries()))
    method("stat", Descriptor.stat)
    method("stat-at", lambda f, pf, path: descriptor_stat(f.stat_at(_follow(pf), path)))
    method("set-times-at",
           lambda f, pf, path, a, m: f.set_times_at(_follow(pf), path, a, m))
    method("link-at", lambda f, pf, old, new_dir, new:
           f.link_at(_follow(pf), old, d(new_dir), new))
    method("open-at", lambda f, pf, path, oflags, flags: iface.new(
        "descriptor", f.open_at(_follow(pf), path, frozenset(oflags), frozenset(flags))))
    method("readlink-at", Descriptor.readlink_at)
    method("remove-directory-at", Descriptor.remove_directory_at)
    method("rename-at", lambda f, old, new_dir, new: f.rename_at(old, d(new_dir), new))
    method("symlink-at", Descriptor.symlink_at)
    method("unlink-file-at", Descriptor.unlink_file_at)
    method("create-directory-at", Descriptor.create_directory_at)
    method("metadata-hash", lambda f: metadata_hash(os.fstat(f.host_fd)))
    method("metadata-hash-at",
           lambda f, pf, path: metadata_hash(f.stat_at(_follow(pf), path)))
    iface.funcs({
        "[method]descriptor.is-same-object":
            lambda self, other: d(self).is_same_object(d(other)),
        "[method]directory-entry-stream.read-directory-entry":
            lambda self: result(lambda: iface.get(self, DirectoryEntries).next()),
        "filesystem-error-code": lambda err: iface.get(err, IoError).code,
    })


def add_preopens(iface: Interface) -> None:
    def get_directories() -> list[tuple[Resource, str]]:
        dirs = []
        for _fd, entry in iface.host.ctx.fds:
            if isinstance(entry, Directory) and entry.preopen_name is not None:
                # The guest's descriptor owns a duplicate: dropping it leaves the preopen.
                desc = Descriptor(os.dup(entry.host_fd), PREOPEN_FLAGS)
                dirs.append((iface.new("descriptor", desc),
                             entry.preopen_name.decode("utf-8")))
        return dirs

    iface.func("get-directories", get_directories)
