"""Linking speed of aot's own ELF writer: a >1 MB object (1500 functions at -O0)."""

from __future__ import annotations

from aot.codegen import CompileOptions
from aot.codegen.elfwriter import write_shared_object
from aot.codegen.emit import host_triple, optimize_and_emit, target_machine
from aot.codegen.translate import artifact_blobs, translate_module
from aot.wasm import parse

from .conftest import wat


def test_link_large_object(benchmark):
    n = 1500
    funcs = " ".join(
        f"(func $f{i} (param i32) (result i32) (i32.add (i32.mul (local.get 0) (i32.const {i}))"
        f" (call $f{(i + 1) % n} (i32.const 0))))"
        for i in range(n)
    )
    elems = " ".join(f"$f{i}" for i in range(n))
    module = parse(wat(f"(module (table {n} funcref) (elem (i32.const 0) {elems}) {funcs})"))
    options = CompileOptions(opt_level=0)
    tm = target_machine(options)
    obj = optimize_and_emit(str(translate_module(module, options, host_triple(), str(tm.target_data))), tm, 0)
    benchmark.group = f"link a {len(obj) // 1024} KiB object"
    # The bulk data (metadata, names, code offsets) is the writer's to add, as in a compile.
    benchmark.pedantic(write_shared_object, args=(obj,), kwargs={"blobs": artifact_blobs(module)},
                       rounds=5)
