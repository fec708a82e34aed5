"""Arguments, environment, exit, yield and random bytes."""

from __future__ import annotations

import os

from aot.errors import Exit


def _sizes(ctx, strings: list[bytes], count_ptr: int, size_ptr: int) -> None:
    ctx.memory.u32(count_ptr, len(strings))
    ctx.memory.u32(size_ptr, sum(len(s) + 1 for s in strings))


def _strings(ctx, strings: list[bytes], ptrs: int, buf: int) -> None:
    """`ptrs` receives one pointer per string, `buf` the NUL-terminated strings."""
    mem = ctx.memory
    for i, s in enumerate(strings):
        mem.u32(ptrs + 4 * i, buf)
        mem.write(buf, s + b"\0")
        buf += len(s) + 1


def args_sizes_get(ctx, count_ptr, size_ptr):
    _sizes(ctx, ctx.args, count_ptr, size_ptr)


def args_get(ctx, argv, argv_buf):
    _strings(ctx, ctx.args, argv, argv_buf)


def environ_sizes_get(ctx, count_ptr, size_ptr):
    _sizes(ctx, ctx.environ, count_ptr, size_ptr)


def environ_get(ctx, environ, environ_buf):
    _strings(ctx, ctx.environ, environ, environ_buf)


def proc_exit(ctx, code):
    # Unwinds the wasm stack up to the Python caller of the export (see WasiCtx.run).
    raise Exit(code)


def sched_yield(ctx):
    os.sched_yield()


def random_get(ctx, buf, length):
    span = ctx.memory.span(buf, length)  # checked before asking the host for the bytes
    span[:] = os.urandom(length)
