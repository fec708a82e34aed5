"""Implementation limits: what aot refuses to compile, with a CompileError that says
which limit, before the work it would cost.

The counts are the web embeddings' (the JS API spec's "implementation-defined limits"),
which wasmtime and V8 apply too, so a module one of them accepts is not refused here
for its shape.  Two are aot's own: how deep control frames nest, and how deep loops nest
within each other.  LLVM's loop analyses grow faster than linearly with loop depth
(measured at -O2: 1,000 nested loops 0.27 s, 2,000 0.55 s, 5,000 1.6 s, 10,000 4.9 s of
CPU), blocks and ifs stay linear; real programs stay far below either (the deepest
function of the SQLite shell nests 283 frames)."""

from __future__ import annotations

from aot.errors import CompileError

MAX_TYPES = 1_000_000
MAX_FUNCTIONS = 1_000_000
MAX_IMPORTS = 100_000
MAX_EXPORTS = 100_000
MAX_GLOBALS = 1_000_000
MAX_DATA_SEGMENTS = 100_000
MAX_ELEMENT_SEGMENTS = 10_000_000
MAX_TABLES = 100_000
MAX_PARAMS = 1_000
MAX_RESULTS = 1_000
MAX_LOCALS = 50_000
MAX_FUNCTION_SIZE = 7_654_321  # bytes of one function body
MAX_NESTING = 10_000  # control frames open at once (block, loop, if)
MAX_LOOP_NESTING = 1_000  # loops open at once


def exceeded(what: str, offset: int | None, func_index: int | None = None) -> CompileError:
    """`what` says what went past which limit: "loops nested more than 1,000 deep"."""
    return CompileError(f"implementation limit: {what}", offset, func_index)


def check_count(n: int, limit: int, what: str, offset: int | None) -> None:
    if n > limit:
        raise exceeded(f"{n:,} {what}, more than {limit:,}", offset)


__all__ = ["MAX_FUNCTION_SIZE", "MAX_LOCALS", "MAX_LOOP_NESTING", "MAX_NESTING", "MAX_PARAMS",
           "MAX_RESULTS", "check_count", "exceeded"]
