"""WASI preview 2 (the 0.2 interfaces) for components, over aot's preview-1 machinery.

    from aot.component import Component, Linker
    from aot.component.wasi import add_to_linker, imported_versions
    from aot.wasi import WasiConfig

    component = Component("command.wasm")
    linker = Linker()
    with add_to_linker(linker, WasiConfig(args=["prog"], stdout="capture"),
                       versions=imported_versions(component)) as wasi:
        instance = linker.instantiate(component)
        run = instance["wasi:cli/run@0.2.0"]["run"]
        run()                         # aot.errors.Exit if it called wasi:cli/exit
        wasi.ctx.stdout               # what it wrote

The interfaces of a WASI command (what the preview-1 command adapter imports, and the
rest of their WIT): wasi:cli (environment, exit, stdin/out/err, terminal-*), wasi:io
(error, poll, streams), wasi:clocks (wall-clock, monotonic-clock), wasi:filesystem
(types, preopens) and wasi:random (random, insecure, insecure-seed).  The `WasiConfig`
is preview 1's (`aot.wasi`): the same arguments, environment, stdio streams and
preopened directories as a core module gets.  wasi:sockets and wasi:http are not here:
a component importing them does not link (LinkError names the import)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from aot.component.runtime import Component, Linker
from aot.component.wasi import cli, clocks, filesystem, io, rand
from aot.component.wasi.host import Interface, WasiHost
from aot.errors import NotSupportedError
from aot.wasi.config import WasiConfig

# Every 0.2 release up to the newest one the adapters in use import; a later 0.2.x
# (same functions) is defined when `versions` names it.
DEFAULT_VERSIONS = tuple(f"0.2.{patch}" for patch in range(13))

_VERSION = re.compile(r"0\.2\.\d+")
_WASI_IMPORT = re.compile(r"wasi:[a-z-]+/[a-z-]+@(\S+)")


def imported_versions(component: Component) -> list[str]:
    """The WASI versions a component's imports name (`wasi:cli/stdout@0.2.3` -> 0.2.3)."""
    found = {m.group(1) for name, _ in component.imports
             if (m := _WASI_IMPORT.fullmatch(name))}
    return sorted(found)


def add_to_linker(linker: Linker, config: WasiConfig | None = None, *,
                  versions: Iterable[str] = DEFAULT_VERSIONS) -> WasiHost:
    """Define the WASI 0.2 interfaces in `linker` for each of `versions`, all sharing one
    `WasiHost` (made from `config`), which is returned: close it after the run."""
    versions = list(versions)
    for v in versions:
        if not _VERSION.fullmatch(v):
            raise NotSupportedError(f"WASI {v}: aot implements the WASI 0.2 interfaces")
    host = WasiHost(config)
    try:
        for v in versions:
            _add_version(host, linker, v)
    except BaseException:
        host.close()
        raise
    return host


def _add_version(host: WasiHost, linker: Linker, v: str) -> None:
    def iface(name: str, *resources: str) -> Interface:
        return Interface(host, linker.root(), f"wasi:{name}@{v}", resources)

    streams_resources = ("error", "pollable", "input-stream", "output-stream")
    io.add_error(iface("io/error", "error"))
    io.add_poll(iface("io/poll", "pollable"))
    io.add_streams(iface("io/streams", *streams_resources))

    cli.add_environment(iface("cli/environment"))
    cli.add_exit(iface("cli/exit"))
    cli.add_stdio(iface("cli/stdin", "input-stream"), iface("cli/stdout", "output-stream"),
                  iface("cli/stderr", "output-stream"))
    iface("cli/terminal-input", "terminal-input")
    iface("cli/terminal-output", "terminal-output")
    cli.add_terminal(iface("cli/terminal-stdin", "terminal-input"), 0,
                     "get-terminal-stdin", "terminal-input")
    cli.add_terminal(iface("cli/terminal-stdout", "terminal-output"), 1,
                     "get-terminal-stdout", "terminal-output")
    cli.add_terminal(iface("cli/terminal-stderr", "terminal-output"), 2,
                     "get-terminal-stderr", "terminal-output")

    clocks.add_wall_clock(iface("clocks/wall-clock"))
    clocks.add_monotonic_clock(iface("clocks/monotonic-clock", "pollable"))

    filesystem.add_types(iface("filesystem/types", "descriptor", "directory-entry-stream",
                               *streams_resources))
    filesystem.add_preopens(iface("filesystem/preopens", "descriptor"))

    rand.add_random(iface("random/random"))
    rand.add_insecure(iface("random/insecure"))
    rand.add_insecure_seed(iface("random/insecure-seed"))


__all__ = ["DEFAULT_VERSIONS", "WasiHost", "add_to_linker", "imported_versions"]
