"""The module description an artifact carries (`aot.abi.artifact.METADATA_SCHEMA`):
written by the compiler, read back by the loader at every load."""

import json

import pytest

import aot
from aot.abi.artifact import ABI_VERSION, METADATA_SCHEMA
from aot.abi.metadata import decode_metadata, encode_metadata
from aot.wasm import parse
from aot.wasm.types import ExternKind, FuncType, GlobalType, Limits, MemoryType, TableType, ValType
from tests.conftest import wat

MODULE = """(module $described
  (type $add (func (param i32 i32) (result i32)))
  (import "env" "log" (func $log (param i64)))
  (import "env" "table" (table 2 10 funcref))
  (import "env" "mem" (memory 1))
  (import "env" "g" (global $g (mut f64)))
  (import "env" "add" (func $imported_add (type $add)))
  (table (export "t") 3 externref)
  (global (export "counter") (mut i32) (i32.const 0))
  (global f32 (f32.const 1))
  (func $start)
  (func $add (export "add") (type $add) (i32.add (local.get 0) (local.get 1)))
  (func (export "pair") (result i32 f64) (i32.const 1) (f64.const 2))
  (export "mem" (memory 0))
  (export "log" (func $log))
  (start $start)
  (data "x")
  (elem declare func $add))"""


@pytest.fixture(scope="module")
def module():
    return parse(wat(MODULE))


def test_the_document_has_exactly_the_documented_keys(module):
    doc = json.loads(encode_metadata(module))
    assert set(doc) == set(METADATA_SCHEMA)
    assert doc["abi_version"] == ABI_VERSION


def test_the_description_reads_back(module):
    func_types = [t for t in module.func_type_indices()]
    desc = decode_metadata(encode_metadata(module), func_types, {})
    i32, i64, f64 = ValType.I32, ValType.I64, ValType.F64
    assert desc.types == module.types
    assert FuncType((i32, i32), (i32,)) in desc.types and FuncType((), (i32, f64)) in desc.types
    assert [(i.module, i.name, i.kind, i.type, i.index) for i in desc.imports] == [
        ("env", "log", ExternKind.FUNC, FuncType((i64,), ()), 0),
        ("env", "table", ExternKind.TABLE, TableType(ValType.FUNCREF, Limits(2, 10)), 0),
        ("env", "mem", ExternKind.MEMORY, MemoryType(Limits(1, None)), 0),
        ("env", "g", ExternKind.GLOBAL, GlobalType(f64, True), 0),
        ("env", "add", ExternKind.FUNC, FuncType((i32, i32), (i32,)), 1),
    ]
    assert desc.tables == [TableType(ValType.EXTERNREF, Limits(3, None))]
    assert desc.memories == []
    assert desc.globals == [GlobalType(i32, True), GlobalType(ValType.F32, False)]
    # In the module's order, with each kind's own index space.
    assert [(e.name, e.kind, e.index) for e in desc.exports] == [
        ("t", ExternKind.TABLE, 1), ("counter", ExternKind.GLOBAL, 1),
        ("add", ExternKind.FUNC, 3), ("pair", ExternKind.FUNC, 4),
        ("mem", ExternKind.MEMORY, 0), ("log", ExternKind.FUNC, 0)]
    assert desc.start == 2
    assert desc.name == "described"
    assert (desc.n_datas, desc.n_elems, desc.n_elem_items) == (1, 1, 0)
    assert desc.func_type_indices == func_types


def test_a_loaded_module_lists_what_the_wasm_declares():
    m = aot.compile(wat(MODULE))
    assert [(i.module, i.name, i.kind) for i in m.imports] == [
        ("env", "log", ExternKind.FUNC), ("env", "table", ExternKind.TABLE),
        ("env", "mem", ExternKind.MEMORY), ("env", "g", ExternKind.GLOBAL),
        ("env", "add", ExternKind.FUNC)]
    assert [e.name for e in m.exports] == ["t", "counter", "add", "pair", "mem", "log"]
    assert m.name == "described"


@pytest.mark.parametrize("damage", [
    lambda d: {**d, "abi_version": ABI_VERSION - 1},
    lambda d: {**d, "n_funcs": d["n_funcs"] + 1},
    lambda d: {**d, "types": ["i32 q>"]},
    lambda d: {**d, "exports": [["add", "func", 0]]},
    lambda d: {**d, "segments": [1, 2]},
    lambda d: {**d, "memories": [[1, 2, 3]]},
    lambda d: {k: v for k, v in d.items() if k != "start"},
])
def test_a_malformed_description_is_an_error_the_loader_reports(module, damage):
    """The loader turns exactly these exception types into ArtifactError."""
    func_types = list(module.func_type_indices())
    doc = damage(json.loads(encode_metadata(module)))
    with pytest.raises((ValueError, KeyError, TypeError, IndexError, AttributeError)):
        decode_metadata(json.dumps(doc).encode(), func_types, {})
