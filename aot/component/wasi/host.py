"""`WasiHost`: the state of one WASI preview 2 run — the preview-1 context it is built
on (arguments, environment, stdio and preopened directories from a `WasiConfig`), the
table of resources handed to the component — and `Interface`, the helper that defines
one versioned interface in a component linker."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from aot.component.abi import Resource
from aot.component.runtime import HostResource, LinkerInstance
from aot.component.wasi.table import ResourceTable
from aot.errors import AotError
from aot.wasi.config import WasiConfig
from aot.wasi.ctx import WasiCtx

T = TypeVar("T")


def _utf8(data: bytes, what: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise AotError(f"WASI {what} {data!r} is not valid UTF-8: a component receives it "
                       "as a string") from None


class WasiHost:
    """What the WASI interfaces of one component instance share.  `ctx` is the preview-1
    `WasiCtx` the config made: its descriptors 0-2 are the stdio streams (inherited,
    captured — read `ctx.stdout` afterwards — redirected or null) and its preopened
    directories are the filesystem's; the same streams `aot run` gives a core module."""

    def __init__(self, config: WasiConfig | None = None) -> None:
        self.ctx = WasiCtx(config)
        self.table = ResourceTable()
        # Component strings are Unicode: refuse what cannot become one before running.
        self.args = [_utf8(a, "argument") for a in self.ctx.args]
        self.env = [tuple(_utf8(part, "environment variable") for part in kv.split(b"=", 1))
                    for kv in self.ctx.environ]
        for _fd, entry in self.ctx.fds:
            name = getattr(entry, "preopen_name", None)
            if name is not None:
                _utf8(name, "preopened directory name")

    def close(self) -> None:
        """Release the host descriptors (preopens, opened files)."""
        try:
            self.table.close_all()
        finally:
            self.ctx.close()

    def __enter__(self) -> WasiHost:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Interface:
    """One interface, such as `wasi:cli/stdout@0.2.0`, defined in a linker: its host
    functions and the resource types it exports (its own and those it `use`s, which the
    component binds to the same types)."""

    def __init__(self, host: WasiHost, root: LinkerInstance, name: str,
                 resources: tuple[str, ...] = ()) -> None:
        self.host = host
        self.name = name
        self._instance = root.instance(name)
        self._resources: dict[str, HostResource] = {
            r: self._instance.resource(r, host.table.remove) for r in resources}

    def func(self, name: str, fn: Callable[..., Any]) -> None:
        self._instance.func_wrap(name, fn)

    def funcs(self, table: dict[str, Callable[..., Any]]) -> None:
        for name, fn in table.items():
            self.func(name, fn)

    def new(self, resource: str, obj: Any) -> Resource:
        """A new owned `resource` value standing for the host object `obj`."""
        return self._resources[resource].new(self.host.table.push(obj))

    def get(self, handle: Resource, kind: type[T]) -> T:
        """The host object behind a resource the component passed in."""
        return self.host.table.get(handle.rep, kind)
