"""Every wasi_snapshot_preview1 function: its core wasm type, and the implementation or
ENOSYS.  Implementations take (ctx, *args) with every argument unsigned, and return None
or raise WasiError / OSError; the wrapper turns that into the errno result."""

from __future__ import annotations

from collections.abc import Callable

from aot.errors import LinkError
from aot.loader.func import Func
from aot.wasi import clocks, files, paths, poll, proc, readdir
from aot.wasi.errno import Errno, WasiError, from_oserror
from aot.wasm.types import ExternKind, FuncType, ValType

MODULE = "wasi_snapshot_preview1"

# name -> params ("i" i32, "I" i64); every function returns an i32 errno but proc_exit.
_PARAMS = {
    "args_get": "ii", "args_sizes_get": "ii", "environ_get": "ii", "environ_sizes_get": "ii",
    "clock_res_get": "ii", "clock_time_get": "iIi",
    "fd_advise": "iIIi", "fd_allocate": "iII", "fd_close": "i", "fd_datasync": "i",
    "fd_fdstat_get": "ii", "fd_fdstat_set_flags": "ii", "fd_fdstat_set_rights": "iII",
    "fd_filestat_get": "ii", "fd_filestat_set_size": "iI", "fd_filestat_set_times": "iIIi",
    "fd_pread": "iiiIi", "fd_prestat_get": "ii", "fd_prestat_dir_name": "iii",
    "fd_pwrite": "iiiIi", "fd_read": "iiii", "fd_readdir": "iiiIi", "fd_renumber": "ii",
    "fd_seek": "iIii", "fd_sync": "i", "fd_tell": "ii", "fd_write": "iiii",
    "path_create_directory": "iii", "path_filestat_get": "iiiii",
    "path_filestat_set_times": "iiiiIIi", "path_link": "iiiiiii", "path_open": "iiiiiIIii",
    "path_readlink": "iiiiii", "path_remove_directory": "iii", "path_rename": "iiiiii",
    "path_symlink": "iiiii", "path_unlink_file": "iii",
    "poll_oneoff": "iiii", "proc_exit": "i", "proc_raise": "i", "sched_yield": "",
    "random_get": "ii",
    "sock_accept": "iii", "sock_recv": "iiiiii", "sock_send": "iiiii", "sock_shutdown": "ii",
}
_VALTYPE = {"i": ValType.I32, "I": ValType.I64}
SIGNATURES: dict[str, FuncType] = {
    name: FuncType(tuple(_VALTYPE[c] for c in params),
                   () if name == "proc_exit" else (ValType.I32,))
    for name, params in _PARAMS.items()
}

# Not here, hence ENOSYS: proc_raise and the sock_* functions (no sockets are ever given
# to a guest).
IMPLEMENTATIONS: dict[str, Callable] = {
    name: getattr(mod, name)
    for mod in (clocks, files, paths, poll, proc, readdir)
    for name in _PARAMS
    if hasattr(mod, name)
}

_U32, _U64 = 0xFFFF_FFFF, 0xFFFF_FFFF_FFFF_FFFF
_EINVAL, _ENOSYS = int(Errno.INVAL), int(Errno.NOSYS)


def _wrap(impl: Callable, ctx, ft: FuncType) -> Callable:
    masks = tuple(_U32 if t == ValType.I32 else _U64 for t in ft.params)

    def call(*args):
        try:
            impl(ctx, *[a & m for a, m in zip(args, masks)])
            return 0
        except WasiError as exc:
            return int(exc.errno)
        except OSError as exc:
            return int(from_oserror(exc))
        except (ValueError, OverflowError):
            # A value the host refuses (an offset past 2**63, a bad flag combination).
            return _EINVAL

    call.__name__ = call.__qualname__ = impl.__name__
    return call


def _enosys(*args) -> int:
    return _ENOSYS


def wasi_function(ctx, name: str, ft: FuncType) -> Func:
    """The host function for import `name` of type `ft`, calling into `ctx`.

    A preview1 function declared with another type is a LinkError; one aot does not
    implement returns ENOSYS, and so does a name preview1 does not have, if its type
    returns an errno like every WASI function."""
    where = f"{MODULE}::{name}"
    expected = SIGNATURES.get(name)
    if expected is not None and ft != expected:
        raise LinkError(f"incompatible import type for {where}: WASI defines {expected}, "
                        f"the module declares {ft}")
    if expected is None and ft.results != (ValType.I32,):
        raise LinkError(f"unknown import: {where} ({ft}) is not a WASI preview 1 function")
    impl = IMPLEMENTATIONS.get(name)
    if impl is None:
        return Func(ft, _enosys, name=name)
    return Func(ft, _wrap(impl, ctx, ft), name=name)


def wasi_imports(ctx, module=None) -> dict[str, dict[str, Func]]:
    """{"wasi_snapshot_preview1": {...}}: the functions `module` imports from it, or all
    of preview1 without a module."""
    if module is None:
        wanted = list(SIGNATURES.items())
    else:
        wanted = []
        for imp in module.imports:
            if imp.module != MODULE:
                continue
            if imp.kind != ExternKind.FUNC:
                raise LinkError(f"incompatible import type for {MODULE}::{imp.name}: WASI "
                                f"provides only functions, the module imports a {imp.kind}")
            wanted.append((imp.name, imp.type))
    return {MODULE: {name: wasi_function(ctx, name, ft) for name, ft in wanted}}
