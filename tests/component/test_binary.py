"""The component binary decoder (aot.component.binary): components are written in the
component text format and encoded by wasmtime's wat2wasm; wasmtime's own validator
cross-checks that what the decoder accepts or rejects is valid or invalid."""

from __future__ import annotations

import pytest
import wasmtime
import wasmtime.component

from aot.component.binary import decode_component, describe
from aot.component.model import (
    AliasCoreExport,
    AliasExport,
    AliasOuter,
    CanonLift,
    CanonLower,
    CanonResource,
    Component,
    ComponentType,
    CoreExtern,
    CoreInlineExports,
    CoreInstantiate,
    CoreModule,
    Export,
    Import,
    InlineExports,
    InstanceType,
    Instantiate,
    ModuleType,
    Sort,
    Start,
    TypeDef,
)
from aot.component.types import (
    Borrow,
    Enum_,
    Flags,
    FuncType,
    List,
    Option,
    Own,
    Prim,
    Record,
    ResourceType,
    Result,
    Tuple,
    Variant,
)
from aot.errors import CompileError, NotSupportedError
from aot.wasm.types import FuncType as CoreFuncType
from aot.wasm.types import Limits, MemoryType
from aot.wasm.types import ValType as Core
from tests.wasm.binary import s32, u32

PREAMBLE = b"\x00asm\x0d\x00\x01\x00"
CORE = {"i32": Core.I32, "i64": Core.I64, "f32": Core.F32, "f64": Core.F64}

# A core module with a memory and an allocator, for the canonical options.
LIBC = """
  (core module $Libc
    (memory (export "mem") 1)
    (func (export "realloc") (param i32 i32 i32 i32) (result i32) i32.const 8)
    (func (export "free") (param i32)))
  (core instance $libc (instantiate $Libc))
"""
MEM = '(memory (core memory $libc "mem"))'
REALLOC = '(realloc (core func $libc "realloc"))'


def wat(text: str) -> bytes:
    return bytes(wasmtime.wat2wasm(text))


def decode(text: str) -> Component:
    return decode_component(wat(text))


@pytest.fixture(scope="module")
def engine() -> wasmtime.Engine:
    config = wasmtime.Config()
    config.wasm_component_model = True
    return wasmtime.Engine(config)


def wasmtime_accepts(engine: wasmtime.Engine, data: bytes) -> bool:
    try:
        wasmtime.component.Component(engine, data)
    except wasmtime.WasmtimeError:
        return False
    return True


def rejects(data: bytes, match: str | None, cls: type[CompileError] = CompileError) -> CompileError:
    """The decoder's error for `data`, which must say `match` and give an offset in it."""
    with pytest.raises(cls, match=match) as info:
        decode_component(data)
    err = info.value
    assert isinstance(err.offset, int) and 0 <= err.offset <= len(data), err.offset
    return err


def core(params: str, results: str = "") -> CoreFuncType:
    return CoreFuncType(tuple(CORE[t] for t in params.split()),
                        tuple(CORE[t] for t in results.split()))


# --- hand-made binaries ------------------------------------------------------------------


# The LEB128 writers of the core tests' hand-made binaries (`sleb` for a nonnegative
# type index in a `valtype`, which the signed encoding gives).
leb = u32
sleb = s32


def name(s: str) -> bytes:
    return leb(len(s.encode())) + s.encode()


def vec(items: list[bytes]) -> bytes:
    return leb(len(items)) + b"".join(items)


def section(sid: int, items: list[bytes]) -> bytes:
    payload = vec(items)
    return bytes([sid]) + leb(len(payload)) + payload


def sections(data: bytes) -> list[tuple[int, int]]:
    """(start, end) of each top-level section of a component."""
    out, pos = [], 8
    while pos < len(data):
        size, shift, p = 0, 0, pos + 1
        while True:
            b = data[p]
            size |= (b & 0x7F) << shift
            p += 1
            shift += 7
            if b < 0x80:
                break
        out.append((pos, p + size))
        pos = p + size
    return out


# --- valid components -------------------------------------------------------------------


def test_minimal_component():
    c = decode("(component)")
    assert c.definitions == [] and c.imports == [] and c.exports == []
    assert all(c.space(sort) == [] for sort in Sort)
    assert c.type == ComponentType((), ())
    assert (c.offset, c.end) == (0, 8)
    assert describe(c) == ""


PRIMS = {"bool": "i32", "s8": "i32", "u8": "i32", "s16": "i32", "u16": "i32", "s32": "i32",
         "u32": "i32", "s64": "i64", "u64": "i64", "f32": "f32", "f64": "f64", "char": "i32"}


@pytest.mark.parametrize("prim", sorted(PRIMS))
def test_lift_primitive(prim):
    ct = PRIMS[prim]
    c = decode(f"""(component
      (core module $m (func (export "f") (param {ct}) (result {ct}) local.get 0))
      (core instance $i (instantiate $m))
      (func $f (param "x" {prim}) (result {prim}) (canon lift (core func $i "f")))
      (export "f" (func $f)))""")
    lift = c.funcs[0]
    assert isinstance(lift, CanonLift)
    assert lift.type == FuncType((("x", Prim(prim)),), Prim(prim))
    assert lift.options.memory is None and lift.options.realloc is None
    alias = c.core_funcs[lift.core_func]
    assert isinstance(alias, AliasCoreExport) and (alias.instance, alias.name) == (0, "f")
    assert alias.type == core(ct, ct)
    export = c.exports[0]
    assert (export.name, export.sort, export.index) == ("f", Sort.FUNC, 0)
    assert export.type is lift.type and c.funcs[1] is export  # an export is a new index


def test_every_primitive_in_one_function(engine):
    prims = sorted(PRIMS)
    params = " ".join(f'(param "p{i}" {p})' for i, p in enumerate(prims[:8]))
    flat = " ".join(PRIMS[p] for p in prims[:8])
    text = f"""(component
      (core module $m (func (export "f") (param {flat})))
      (core instance $i (instantiate $m))
      (func $f {params} (canon lift (core func $i "f")))
      (export "f" (func $f)))"""
    c = decode(text)
    assert [t for _, t in c.funcs[0].type.params] == [Prim(p) for p in prims[:8]]
    assert c.funcs[0].type.results is None
    assert wasmtime_accepts(engine, wat(text))


def test_core_module_and_instance():
    data = wat(f"""(component {LIBC}
      (core module $Main
        (import "libc" "mem" (memory 1))
        (import "libc" "realloc" (func (param i32 i32 i32 i32) (result i32)))
        (func (export "run")))
      (core instance $main (instantiate $Main (with "libc" (instance $libc)))))""")
    c = decode_component(data)
    libc, main = c.core_modules
    assert isinstance(libc, CoreModule) and libc.data[:4] == b"\x00asm"
    assert data[libc.offset:libc.offset + len(libc.data)] == libc.data
    assert libc.type.export("mem") == CoreExtern(Sort.CORE_MEMORY, MemoryType(Limits(1)))
    assert libc.type.export("realloc").type == core("i32 i32 i32 i32", "i32")
    assert [(m, n) for m, n, _ in main.type.imports] == [("libc", "mem"), ("libc", "realloc")]
    inst = c.core_instances[1]
    assert isinstance(inst, CoreInstantiate)
    assert (inst.module, inst.args) == (1, (("libc", 0),))
    assert inst.type.export("run").type == core("")
    assert c.definitions == [libc, c.core_instances[0], main, inst]


@pytest.mark.parametrize("encoding", ["utf8", "utf16", "latin1+utf16"])
def test_lift_string_with_each_encoding(engine, encoding):
    text = f"""(component {LIBC}
      (core module $m (func (export "f") (param i32 i32) (result i32) i32.const 0))
      (core instance $i (instantiate $m))
      (func $f (param "s" string) (result string)
        (canon lift (core func $i "f") string-encoding={encoding} {MEM} {REALLOC}))
      (export "f" (func $f)))"""
    c = decode(text)
    lift = c.funcs[0]
    assert lift.type == FuncType((("s", Prim.STRING),), Prim.STRING)
    opts = lift.options
    assert opts.string_encoding == encoding
    assert c.core_memories[opts.memory].name == "mem"
    assert c.core_funcs[opts.realloc].name == "realloc"
    assert wasmtime_accepts(engine, wat(text))


# Records, variants, enums and flags in an export's type must have names: exported ones
# (Explainer.md "External Visibility of Types").
COMPOUND = """
  (type $point0 (record (field "x" s32) (field "y" f64)))
  (export $point "point" (type $point0))
  (type $shape0 (variant (case "circle" f32) (case "square" $point) (case "none")))
  (export $shape "shape" (type $shape0))
  (type $color0 (enum "red" "green" "blue"))
  (export $color "color" (type $color0))
  (type $perms0 (flags "read" "write" "exec"))
  (export $perms "perms" (type $perms0))
  (type $pair (tuple u8 string))
  (type $maybe (option u64))
  (type $bytes (list u8))
  (type $res (result $point (error string)))
"""
# Flattened: point i32 f64 | shape i32 i32 f64 (f32 joins i32) | color i32 | perms i32 |
# pair i32 i32 i32 | maybe i32 i64 | bytes i32 i32; the result spills to memory.
COMPOUND_FLAT = "i32 f64 i32 i32 f64 i32 i32 i32 i32 i32 i32 i64 i32 i32"


def test_compound_types_resolved_and_flattened(engine):
    text = f"""(component {LIBC} {COMPOUND}
      (core module $m (func (export "f") (param {COMPOUND_FLAT}) (result i32) i32.const 0)
                      (func (export "post") (param i32)))
      (core instance $i (instantiate $m))
      (func $f (param "p" $point) (param "s" $shape) (param "c" $color) (param "perm" $perms)
               (param "pair" $pair) (param "maybe" $maybe) (param "bytes" $bytes) (result $res)
        (canon lift (core func $i "f") {MEM} {REALLOC} (post-return (core func $i "post"))))
      (export "f" (func $f)))"""
    c = decode(text)
    point = Record((("x", Prim.S32), ("y", Prim.F64)))
    shape = Variant((("circle", Prim.F32), ("square", point), ("none", None)))
    color, perms = Enum_(("red", "green", "blue")), Flags(("read", "write", "exec"))
    assert [d.type for d in c.types[:12]] == [
        point, point, shape, shape, color, color, perms, perms,
        Tuple((Prim.U8, Prim.STRING)),
        Option(Prim.U64),
        List(Prim.U8),
        Result(point, Prim.STRING),
    ]
    lift = c.funcs[0]
    # Exporting a record names a new type (equal to the record, not the same object).
    assert isinstance(c.types[1], Export) and c.types[1].type == c.types[0].type
    assert c.types[1].type is not c.types[0].type
    assert lift.type.params[1][1].cases[1][1] is c.types[1].type  # indices resolved
    assert lift.type.results == Result(point, Prim.STRING)
    assert c.core_funcs[lift.core_func].type == core(COMPOUND_FLAT, "i32")
    assert c.core_funcs[lift.options.post_return].type == core("i32")
    assert wasmtime_accepts(engine, wat(text))


def test_flags_up_to_32():
    labels = " ".join(f'"f{i}"' for i in range(32))
    c = decode(f"(component (type (flags {labels})))")
    assert len(c.types[0].type.names) == 32


def test_more_than_32_flags_rejected(engine):
    # The current Binary.md bounds flags to 32 (wasmtime agrees).
    data = wat("(component (type (flags " + " ".join(f'"f{i}"' for i in range(33)) + ")))")
    assert not wasmtime_accepts(engine, data)
    assert rejects(data, "at most 32 flags").offset == 11


def test_many_params_spill_to_memory(engine):
    params = " ".join(f'(param "p{i}" u32)' for i in range(17))
    text = f"""(component {LIBC}
      (core module $m (func (export "f") (param i32)))
      (core instance $i (instantiate $m))
      (func (export "f") {params} (canon lift (core func $i "f") {MEM} {REALLOC})))"""
    c = decode(text)
    assert len(c.funcs[0].type.params) == 17
    assert wasmtime_accepts(engine, wat(text))
    without_realloc = text.replace(REALLOC, "")
    rejects(wat(without_realloc), "needs a realloc option")


RESOURCES = f"""(component $C {LIBC}
  (type $R (resource (rep i32) (dtor (core func $libc "free"))))
  (core func $new (canon resource.new $R))
  (core func $drop (canon resource.drop $R))
  (core func $rep (canon resource.rep $R))
  (core module $Main
    (import "r" "new" (func (param i32) (result i32)))
    (import "r" "drop" (func (param i32)))
    (import "r" "rep" (func (param i32) (result i32)))
    (func (export "make") (param i32) (result i32) i32.const 0)
    (func (export "use") (param i32) (result i32) i32.const 0))
  (core instance $r (export "new" (func $new)) (export "drop" (func $drop))
                    (export "rep" (func $rep)))
  (core instance $main (instantiate $Main (with "r" (instance $r))))
  (export $T "thing" (type $R))
  (func $make (param "n" u32) (result (own $T)) (canon lift (core func $main "make")))
  (func $use (param "self" (borrow $T)) (result u32) (canon lift (core func $main "use")))
  (export "[constructor]thing" (func $make))
  (export "[method]thing.use" (func $use)))"""


def test_resources(engine):
    data = wat(RESOURCES)
    assert wasmtime_accepts(engine, data)
    c = decode_component(data)
    rt = c.types[0].type
    assert isinstance(rt, ResourceType)
    assert (rt.name, rt.rep) == ("R", "i32")  # named by the name section
    free = c.core_funcs[rt.dtor]
    assert isinstance(free, AliasCoreExport) and free.name == "free"
    new, drop, rep = (c.core_funcs[i] for i in range(1, 4))
    assert all(isinstance(x, CanonResource) for x in (new, drop, rep))
    assert [(x.op, x.resource, x.resource_type) for x in (new, drop, rep)] == [
        ("resource.new", 0, rt), ("resource.drop", 0, rt), ("resource.rep", 0, rt)]
    assert (new.type, drop.type, rep.type) == (core("i32", "i32"), core("i32"),
                                               core("i32", "i32"))
    exported = c.types[1]
    assert isinstance(exported, Export) and exported.type is rt
    make, use = c.funcs[0].type, c.funcs[1].type
    assert make.results == Own(rt) and use.params[0] == ("self", Borrow(rt))
    assert c.type.exported == (rt,)  # each instantiation makes its own
    inline = c.core_instances[1]
    assert isinstance(inline, CoreInlineExports)
    assert inline.exports == (("new", Sort.CORE_FUNC, 1), ("drop", Sort.CORE_FUNC, 2),
                              ("rep", Sort.CORE_FUNC, 3))


def test_resource_own_borrow_structural_equality():
    c = decode_component(wat(RESOURCES))
    rt = c.types[0].type
    other = ResourceType("R")
    assert Own(rt) == Own(rt) and Own(rt) != Own(other)  # resource types are nominal


IMPORTS = f"""(component
  (type $it (instance
    (export "stream" (type $s (sub resource)))
    (export "[method]stream.write"
      (func (param "self" (borrow $s)) (param "data" (list u8)) (result u64)))
    (export "open" (func (param "path" string) (result (own $s))))))
  (import "host:fs/io@1.0.0" (instance $io (type $it)))
  (import "backup" (instance $io2 (type $it)))
  (import "log" (func $log (param "msg" string)))
  (alias export $io "stream" (type $s))
  (alias export $io "[method]stream.write" (func $write))
  (alias export $io "open" (func $open))
  {LIBC}
  (core func $w (canon lower (func $write) {MEM}))
  (core func $o (canon lower (func $open) {MEM}))
  (core func $l (canon lower (func $log) {MEM} string-encoding=utf16))
  (core module $Main
    (import "io" "write" (func (param i32 i32 i32) (result i64)))
    (import "io" "open" (func (param i32 i32) (result i32)))
    (import "io" "log" (func (param i32 i32))))
  (core instance $main (instantiate $Main
    (with "io" (instance (export "write" (func $w)) (export "open" (func $o))
                         (export "log" (func $l))))))
)"""


def test_imported_instances_and_lowering(engine):
    data = wat(IMPORTS)
    assert wasmtime_accepts(engine, data)
    c = decode_component(data)
    io, io2, log = c.imports
    assert all(isinstance(i, Import) for i in c.imports) and isinstance(c.types[0], TypeDef)
    assert (io.name, io.sort, log.sort) == ("host:fs/io@1.0.0", Sort.INSTANCE, Sort.FUNC)
    assert c.instances == [io, io2] and c.funcs[0] is log
    assert isinstance(io.type, InstanceType)
    stream = io.type.export("stream").type
    assert isinstance(stream, ResourceType) and stream.name == "stream"
    # Each import of the instance type has resource types of its own.
    assert stream is not io2.type.export("stream").type
    assert stream is not c.types[0].type.export("stream").type
    alias = c.types[2]
    assert isinstance(alias, AliasExport) and alias.type is stream
    write = c.funcs[1]
    assert isinstance(write, AliasExport) and write.type.params[0] == ("self", Borrow(stream))
    w, o, lg = c.core_funcs[:3]
    assert all(isinstance(x, CanonLower) for x in (w, o, lg))
    assert (w.func, o.func, lg.func) == (1, 2, 0)
    assert w.type == core("i32 i32 i32", "i64")
    assert o.type == core("i32 i32", "i32")
    assert lg.type == core("i32 i32") and lg.options.string_encoding == "utf16"
    assert c.type.imported == (stream, io2.type.export("stream").type)


def test_lower_result_needs_realloc_and_spills(engine):
    text = f"""(component {LIBC}
      (import "f" (func $f (param "s" string) (result string)))
      (core func (canon lower (func $f) {MEM} {REALLOC})))"""
    c = decode(text)
    # The string result does not fit one core result: the caller passes a pointer.
    assert c.core_funcs[-1].type == core("i32 i32 i32")
    assert wasmtime_accepts(engine, wat(text))
    rejects(wat(text.replace(REALLOC, "")), "canon lower .* needs a realloc option")
    rejects(wat(text.replace(MEM, "")), "the realloc option needs a memory option")


NESTED = """(component $P
  (type $T (record (field "a" u32)))
  (core module $M (func (export "f")))
  (import "r" (type $R (sub resource)))
  (component $C
    (import "r" (type $CR (sub resource)))
    (alias outer $P $T (type $T2))
    (alias outer $P $M (core module $M2))
    (type $D (resource (rep i32)))
    (export "d" (type $D))
    (export "r2" (type $CR))
    (export "t" (type $T2))
    (export "m" (core module $M2)))
  (instance $i1 (instantiate $C (with "r" (type $R))))
  (instance $i2 (instantiate $C (with "r" (type $R))))
  (alias export $i1 "d" (type $d1))
  (alias export $i2 "d" (type $d2))
  (alias export $i1 "m" (core module $m1))
  (instance $bundle (export "d" (type $d1)) (export "m" (core module $m1)))
  (export "bundle" (instance $bundle))
)"""


def test_nested_components_and_instantiation(engine):
    data = wat(NESTED)
    assert wasmtime_accepts(engine, data)
    c = decode_component(data)
    r = c.imports[0].type
    inner = c.components[0]
    assert isinstance(inner, Component) and inner.offset > 0 and inner.end <= len(data)
    assert data[inner.offset:inner.offset + 8] == PREAMBLE
    t2, m2 = inner.types[1], inner.core_modules[0]
    assert isinstance(t2, AliasOuter) and (t2.count, t2.index, t2.sort) == (1, 0, Sort.TYPE)
    assert t2.type is c.types[0].type
    assert isinstance(m2, AliasOuter) and m2.target is c.core_modules[0]
    d = inner.types[2].type
    assert [n for n, _ in inner.type.exports] == ["d", "r2", "t", "m"]
    assert inner.type.imported == (inner.imports[0].type,)
    assert inner.type.exported == (d,)
    i1, i2, bundle, exported = c.instances
    assert isinstance(i1, Instantiate) and i1.args == (("r", Sort.TYPE, 1),)
    # Imported resource types are the arguments; defined ones are new per instance.
    assert i1.type.export("r2").type is r and i2.type.export("r2").type is r
    d1, d2 = i1.type.export("d").type, i2.type.export("d").type
    assert len({id(d), id(d1), id(d2)}) == 3
    assert c.types[2].type is d1 and c.types[3].type is d2
    assert i1.type.export("t").type == Record((("a", Prim.U32),))
    assert isinstance(bundle, InlineExports)
    assert bundle.exports == (("d", Sort.TYPE, 2), ("m", Sort.CORE_MODULE, 1))
    assert isinstance(c.core_modules[1], AliasExport)


def test_imported_core_module_typed_by_module_type(engine):
    text = """(component
      (core type $mt (module
        (import "env" "f" (func (param i32)))
        (export "mem" (memory 1))
        (export "g" (func (result i32)))))
      (import "lib" (core module $lib (type $mt)))
      (core module $Env (func (export "f") (param i32)))
      (core instance $env (instantiate $Env))
      (core instance $l (instantiate $lib (with "env" (instance $env))))
      (core func $g (alias core export $l "g"))
      (alias core export $l "mem" (core memory $mem)))"""
    c = decode(text)
    mt = c.core_types[0].type
    assert isinstance(mt, ModuleType)
    assert mt.imports == (("env", "f", CoreExtern(Sort.CORE_FUNC, core("i32"))),)
    assert c.imports[0].type is mt and c.core_modules[0] is c.imports[0]
    assert c.core_funcs[0].type == core("", "i32")
    assert c.core_memories[0].type == MemoryType(Limits(1))
    assert wasmtime_accepts(engine, wat(text))


def test_component_typed_import_and_instantiation():
    c = decode("""(component
      (type $ct (component
        (import "x" (func (param "a" u32)))
        (export "y" (instance (export "z" (type (sub resource)))))))
      (import "c" (component $c (type $ct)))
      (import "x" (func $x (param "a" u32)))
      (instance $i (instantiate $c (with "x" (func $x))))
      (instance $j (instantiate $c (with "x" (func $x)))))""")
    ct = c.imports[0].type
    assert isinstance(ct, ComponentType) and len(ct.exported) == 1
    zi = c.instances[0].type.export("y").type.export("z").type
    zj = c.instances[1].type.export("y").type.export("z").type
    assert isinstance(zi, ResourceType) and zi is not zj and zi is not ct.exported[0]


def test_name_section_and_custom_sections():
    c = decode('(component $Named (type $R (resource (rep i32))) (core module $mod))')
    assert c.names.component == "Named"
    assert c.names.get(Sort.TYPE, 0) == "R" and c.names.get(Sort.CORE_MODULE, 0) == "mod"
    assert [s.name for s in c.customs] == ["component-name"]
    assert c.types[0].type.name == "R"


def test_import_names_with_versions_and_attributes():
    base = section(7, [b"\x42\x00"])  # an empty instance type
    imp = b"\x02" + name("store") + vec([b"\x00" + name("wasi:keyvalue/store"),
                                          b"\x01" + name(".1-rc")])
    c = decode_component(PREAMBLE + base + section(10, [imp + b"\x05\x00"]))
    assert c.imports[0].name == "store"
    assert c.imports[0].attributes == {"implements": "wasi:keyvalue/store",
                                       "versionsuffix": ".1-rc"}
    c = decode('(component (import "wasi:cli/env@0.2.0-rc.1+b" (instance)))')
    assert c.imports[0].name == "wasi:cli/env@0.2.0-rc.1+b"


def test_start_without_values():
    c = decode('(component (import "f" (func $f)) (start $f))')
    assert c.starts == [c.definitions[-1]] and isinstance(c.starts[0], Start)
    assert c.starts[0].func == 0


def test_describe():
    c = decode(f"""(component {LIBC}
      (import "host" (instance
        (export "log" (func (param "msg" string)))
        (export "file" (type $f (sub resource)))
        (export "open" (func (param "p" string) (result (result (own $f) (error u8)))))))
      {COMPOUND}
      (core module $m (func (export "add") (param i32 i32) (result i32) local.get 0)
                      (func (export "g") (param {COMPOUND_FLAT}) (result i32) i32.const 0))
      (core instance $i (instantiate $m))
      (func (export "add") (param "a" u32) (param "b" u32) (result u32)
        (canon lift (core func $i "add")))
      (func (export "g") (param "p" $point) (param "s" $shape) (param "c" $color)
            (param "perm" $perms) (param "pair" $pair) (param "maybe" $maybe)
            (param "bytes" $bytes) (result $res)
        (canon lift (core func $i "g") {MEM} {REALLOC})))""")
    assert describe(c) == (
        "import host: instance {\n"
        "  log: func(msg: string)\n"
        "  file: resource\n"
        "  open: func(p: string) -> result<file, u8>\n"
        "}\n"
        "export point: type = record { x: s32, y: f64 }\n"
        "export shape: type = variant { circle(f32), square(record { x: s32, y: f64 }), none }\n"
        "export color: type = enum { red, green, blue }\n"
        "export perms: type = flags { read, write, exec }\n"
        "export add: func(a: u32, b: u32) -> u32\n"
        "export g: func(p: record { x: s32, y: f64 }, "
        "s: variant { circle(f32), square(record { x: s32, y: f64 }), none }, "
        "c: enum { red, green, blue }, perm: flags { read, write, exec }, "
        "pair: tuple<u8, string>, maybe: option<u64>, bytes: list<u8>) "
        "-> result<record { x: s32, y: f64 }, string>\n")


def test_describe_type_exports_and_typed_imports():
    text = describe(decode('''(component
      (type $it (instance (export "f" (func (param "x" u32)))))
      (export "it" (type $it))
      (type $ct (component (import "a" (func)) (export "b" (instance (type $it)))))
      (core type $mt (module (import "env" "f" (func (param i32))) (export "m" (memory 1))))
      (import "m" (core module (type $mt)))
      (import "c" (component (type $ct))))'''))
    assert text == ("import m: core module {\n"
                    "  import 'env' 'f': (func (param i32))\n"
                    "  export 'm': (memory 1)\n"
                    "}\n"
                    "import c: component {\n"
                    "  import a: func()\n"
                    "  export b: instance {\n"
                    "    f: func(x: u32)\n"
                    "  }\n"
                    "}\n"
                    "export it: type = instance {\n"
                    "  f: func(x: u32)\n"
                    "}\n")


def test_describe_resources_by_name():
    text = describe(decode_component(wat(RESOURCES)))
    assert text == ("export thing: resource\n"
                    "export [constructor]thing: func(n: u32) -> thing\n"
                    "export [method]thing.use: func(self: borrow<thing>) -> u32\n")


# --- invalid components (wasmtime agrees that each is invalid) -------------------------------

INVALID = {
    "string param without realloc": (f"""(component {LIBC}
        (core module $m (func (export "f") (param i32 i32)))
        (core instance $i (instantiate $m))
        (func (param "s" string) (canon lift (core func $i "f") {MEM})))""",
                                      "needs a realloc option"),
    "string result without memory": ("""(component
        (core module $m (func (export "f") (result i32) i32.const 0))
        (core instance $i (instantiate $m))
        (func (result string) (canon lift (core func $i "f"))))""", "needs a memory option"),
    "lowered string param without memory": ("""(component
        (import "f" (func $f (param "s" string)))
        (core func (canon lower (func $f))))""", "needs a memory option"),
    "core signature mismatch": ("""(component
        (core module $m (func (export "f") (param i64)))
        (core instance $i (instantiate $m))
        (func (param "x" u32) (canon lift (core func $i "f"))))""",
                                "has type .*i64.*needs .*i32"),
    "realloc type": ("""(component
        (core module $m (memory (export "mem") 1) (func (export "f") (param i32 i32))
                        (func (export "realloc") (param i32 i32 i32) (result i32) i32.const 0))
        (core instance $i (instantiate $m))
        (func (param "s" string) (canon lift (core func $i "f")
          (memory (core memory $i "mem")) (realloc (core func $i "realloc")))))""",
                     "realloc function .* has type"),
    "post-return type": ("""(component
        (core module $m (func (export "f") (result i32) i32.const 0) (func (export "p")))
        (core instance $i (instantiate $m))
        (func (result u32) (canon lift (core func $i "f") (post-return (core func $i "p")))))""",
                         "post-return core func"),
    "borrow in a result": ("""(component (type $R (resource (rep i32)))
        (type (func (result (borrow $R)))))""", "result cannot contain a borrow"),
    "export names differing in case": ("""(component (import "a" (func $a))
        (export "A" (func $a)) (export "a" (func $a)))""", "export name 'a' conflicts with 'A'"),
    "import name not kebab case": ('(component (import "a_b" (func)))', "neither a plain name"),
    "method of no resource": ('(component (import "[method]r.a" (func (param "self" u32))))',
                              "no preceding import of a resource named 'r'"),
    "resource.new of an imported resource": ("""(component
        (import "r" (type $R (sub resource)))
        (core func (canon resource.new $R)))""", "only a resource type defined by this"),
    "outer alias of a resource type": ("""(component $C (type $R (resource (rep i32)))
        (component (alias outer $C $R (type))))""", "uses resource types from outside"),
    "export of an unnamed resource": ("""(component (type $R (resource (rep i32)))
        (core module $m (func (export "f") (param i32)))
        (core instance $i (instantiate $m))
        (func $f (param "r" (own $R)) (canon lift (core func $i "f")))
        (export "f" (func $f)))""", "no preceding import or export names"),
    "import of a defined resource": ("""(component (type $R (resource (rep i32)))
        (import "f" (func (param "r" (own $R)))))""", "no preceding import or export names"),
    "missing instantiation argument": ("""(component
        (component $c (import "f" (func)))
        (instance (instantiate $c)))""", "imports 'f', which no argument supplies"),
    "instantiation argument of the wrong sort": ("""(component
        (component $c (import "f" (func)))
        (component $d)
        (instance (instantiate $c (with "f" (component $d)))))""",
                                                 "expected a func, found a component"),
    "instantiation argument of the wrong type": ("""(component
        (component $c (import "f" (func (param "x" u32))))
        (import "g" (func $g (param "x" u64)))
        (instance (instantiate $c (with "f" (func $g)))))""", "function type differs"),
    "missing core instantiation argument": ("""(component
        (core module $m (import "env" "f" (func)))
        (core instance (instantiate $m)))""", "imports from 'env', which no argument"),
    "core instantiation argument of the wrong type": ("""(component
        (core module $m (import "env" "f" (func (param i32))))
        (core module $e (func (export "f") (param i64)))
        (core instance $e (instantiate $e))
        (core instance (instantiate $m (with "env" (instance $e)))))""", "imports 'env' 'f' as"),
    "resource type in an instance type": ("""(component
        (type (instance (type (resource (rep i32))))))""", "only be defined in a component"),
    "duplicate record field": ('(component (type (record (field "a" u32) (field "A" u8))))',
                               "duplicate record field label 'A'"),
    "alias of the wrong sort": ("""(component
        (import "i" (instance $i (export "t" (type (sub resource)))))
        (alias export $i "t" (func)))""", "export 't' of instance 0 is a type, not a func"),
    "lift with a value type as function type": ("""(component
        (core module $m (func (export "f")))
        (core instance $i (instantiate $m))
        (type $r (record (field "a" u32)))
        (func (type $r) (canon lift (core func $i "f"))))""", "type 0 is a record type"),
    "unnamed record in an exported function": ('''(component
        (type $r (record (field "a" u32)))
        (core module $m (func (export "f") (param i32)))
        (core instance $i (instantiate $m))
        (func $f (param "r" $r) (canon lift (core func $i "f")))
        (export "f" (func $f)))''', "export 'f' uses a record type that no import or export names"),
    "shared memory as the canonical memory": ('''(component
        (core module $m (memory (export "m") 1 2 shared) (func (export "f")))
        (core instance $i (instantiate $m))
        (func (canon lift (core func $i "f") (memory (core memory $i "m")))))''', "is shared"),
    "duplicate import in a module type": (
        '(component (core type (module (import "a" "b" (func)) (import "a" "b" (func)))))',
        "duplicate import 'a' 'b' in a module type"),
    "memory too large in a module type": (
        '(component (core type (module (import "a" "b" (memory 70000)))))',
        "memory size must be at most 65536 pages"),
    "component type import using an exported resource": ('''(component
        (type (component
          (export "x" (type $x (sub resource)))
          (import "f" (func (result (own $x)))))))''', "uses a resource type an export declares"),
    "constructor not returning its resource": ("""(component
        (import "r" (type $R (sub resource)))
        (import "[constructor]r" (func (result u32))))""", "must return own<r>"),
}


@pytest.mark.parametrize("case", sorted(INVALID))
def test_invalid(engine, case):
    text, match = INVALID[case]
    data = wat(text)
    assert not wasmtime_accepts(engine, data)
    rejects(data, match)


def test_index_out_of_range():
    export = b"\x00" + name("f") + b"\x01" + leb(5) + b"\x00"
    data = PREAMBLE + section(11, [export])
    err = rejects(data, "export section: func index 5 out of range")
    assert err.offset == 8 + 2 + 1 + 1 + 2 + 1  # the index, after the name and the sort


def test_wrong_sorts():
    core_func_export = b"\x00" + name("f") + b"\x00\x00" + leb(0) + b"\x00"
    rejects(PREAMBLE + section(11, [core_func_export]), "cannot export or pass a core func")
    lift_of_type = b"\x00\x00" + leb(0) + vec([]) + leb(0)
    data = PREAMBLE + section(7, [b"\x7d"]) + section(8, [lift_of_type])
    rejects(data, "core func index 0 out of range")
    own_of_u8 = PREAMBLE + section(7, [b"\x7d", b"\x69\x00"])
    rejects(own_of_u8, "type 0 is a u8 type, not a resource type")


def test_preamble_errors():
    err = rejects(b"\x00asn\x0d\x00\x01\x00", "magic header not detected")
    assert err.offset == 0
    assert rejects(b"\x00asm\x01\x00\x00\x00", "a core module, not a component").offset == 4
    assert rejects(b"\x00asm\x0e\x00\x01\x00", "unknown component binary version").offset == 4
    assert rejects(b"\x00asm\x0d\x00\x02\x00", "unknown binary layer").offset == 6
    assert rejects(b"\x00asm\x0d\x00", "unexpected end").offset == 6
    rejects(b"", "unexpected end")
    rejects(b"\x00a", "unexpected end")


def test_bad_section_id():
    err = rejects(PREAMBLE + b"\x0d\x00", "malformed section id 13")
    assert err.offset == 8


def test_section_size_mismatch():
    # A type section declaring one byte more than its one type uses.
    data = PREAMBLE + b"\x07\x03\x01\x7d\x7d"
    assert rejects(data, "type section: section size mismatch").offset == 12
    data = PREAMBLE + b"\x07\x09\x01\x7d"
    rejects(data, "length out of bounds")


def test_truncated_at_every_byte():
    """Every prefix is either a whole number of sections (a valid, smaller component)
    or a CompileError placed within the prefix."""
    data = wat(RESOURCES)
    ends = {end for _, end in sections(data)}
    assert len(ends) > 10
    for n in range(len(data)):
        if n in ends or n == 8:
            decode_component(data[:n])
        else:
            rejects(data[:n], None)


def test_corrupted_bytes_raise_only_compile_errors():
    data = wat(IMPORTS)
    for pos in range(8, len(data)):
        for value in (0x00, 0x41, 0xFF):
            corrupt = data[:pos] + bytes([value]) + data[pos + 1:]
            try:
                decode_component(corrupt)
            except CompileError as err:
                assert isinstance(err.offset, int) and 0 <= err.offset <= len(corrupt)


NOT_SUPPORTED = {
    "waitable-set.new": (section(8, [b"\x1f"]), r"waitable-set.new \(canon 0x1f\)"),
    "task.return": (section(8, [b"\x09\x01\x00" + vec([])]), r"task.return \(canon 0x09\)"),
    "stream.new": (section(8, [b"\x0e\x00"]), r"stream.new \(canon 0x0e\)"),
    "error-context.drop": (section(8, [b"\x1e"]), r"error-context.drop \(canon 0x1e\)"),
    "thread.index": (section(8, [b"\x26"]), r"thread.index \(canon 0x26\)"),
    "async function type": (section(7, [b"\x43\x00\x01\x00"]), "async function types"),
    "error-context type": (section(7, [b"\x64"]), "the error-context type"),
    "stream type": (section(7, [b"\x66\x00"]), "streams"),
    "future type": (section(7, [b"\x65\x00"]), "futures"),
    "fixed-length list": (section(7, [b"\x67\x7d\x04"]), "fixed-length lists"),
    "value section": (b"\x0c\x01\x00", r"value definitions \(section 12\)"),
    "value import": (section(10, [b"\x00" + name("v") + b"\x02\x01\x7d"]), "values"),
    "GC subtype in a module type": (wat("(component (core type (module (type (sub (func))))))")[8:],
                                    r"GC core subtypes \(0x50\)"),
}


@pytest.mark.parametrize("case", sorted(NOT_SUPPORTED))
def test_not_supported(case):
    body, match = NOT_SUPPORTED[case]
    err = rejects(PREAMBLE + body, "component model: " + match, NotSupportedError)
    assert err.message.startswith("not supported: component model: ")


def test_async_canon_option_not_supported():
    text = f"""(component {LIBC}
      (import "f" (func $f))
      (core func (canon lower (func $f) async {MEM})))"""
    rejects(wat(text), r"the async option \(canonopt 0x06\)", NotSupportedError)


def test_type_nesting_limit():
    deep = [b"\x70\x7d"] + [b"\x70" + sleb(i) for i in range(100)]
    decode_component(PREAMBLE + section(7, deep[:100]))
    rejects(PREAMBLE + section(7, deep), "nested 101 deep")


def test_type_size_limit_is_cheap_to_check():
    # Each tuple doubles the size: the 20th has 2**21 nodes but only 21 definitions.
    doubling = [b"\x6f" + vec([b"\x7d", b"\x7d"])]
    doubling += [b"\x6f" + vec([sleb(i), sleb(i)]) for i in range(20)]
    rejects(PREAMBLE + section(7, doubling), "a type of size")


def test_nested_component_errors_are_placed_in_the_whole_binary():
    inner = PREAMBLE + section(11, [b"\x00" + name("f") + b"\x01" + leb(3) + b"\x00"])
    data = PREAMBLE + bytes([4]) + leb(len(inner)) + inner
    err = rejects(data, "component section: export section: func index 3 out of range")
    assert err.offset == 10 + 8 + 2 + 1 + 1 + 2 + 1


def test_core_module_errors_are_placed_in_the_whole_binary():
    bad = b"\x00asm\x01\x00\x00\x00\x01\x04\x01\x60\x00"  # a truncated type section
    data = PREAMBLE + bytes([1]) + leb(len(bad)) + bad
    err = rejects(data, "core module section: core module: ")
    assert 10 <= err.offset <= len(data)


def test_definitions_record_their_origin():
    c = decode_component(wat(IMPORTS))
    kinds = {type(d).__name__ for d in c.definitions}
    assert kinds == {"TypeDef", "Import", "AliasExport", "CoreModule", "CoreInstantiate",
                     "AliasCoreExport", "CanonLower", "CoreInlineExports"}
    # Every index of every sort is introduced by one of the definitions.
    for sort in Sort:
        assert all(entry in c.definitions for entry in c.space(sort))
    assert all(isinstance(d.offset, int) and 0 < d.offset < len(wat(IMPORTS))
               for d in c.definitions)


def test_implements_attribute_needs_an_instance_with_a_plain_name():
    func_type = section(7, [b"\x40\x00\x01\x00"])
    imp = b"\x02" + name("store") + vec([b"\x00" + name("wasi:keyvalue/store")])
    rejects(PREAMBLE + func_type + section(10, [imp + b"\x01\x00"]),
            "needs an instance with a plain name")


def nested_components(depth: int) -> bytes:
    data = PREAMBLE
    for _ in range(depth):
        data = PREAMBLE + b"\x04" + leb(len(data)) + data
    return data


def nested_instance_types(depth: int) -> bytes:
    t = b"\x42\x00"
    for _ in range(depth - 1):
        t = b"\x42" + vec([b"\x01" + t])
    return PREAMBLE + section(7, [t])


@pytest.mark.parametrize("nested", [nested_components, nested_instance_types])
def test_nesting_limit(nested):
    c = decode_component(nested(50))
    assert c.components or isinstance(c.types[0].type, InstanceType)
    rejects(nested(51), "nested more than 50 deep")
    rejects(nested(2000), "nested more than 50 deep")


def test_outer_alias_within_a_component_may_name_its_resources(engine):
    text = """(component $C
      (type $R (resource (rep i32)))
      (type $it (instance
        (alias outer $C $R (type $r))
        (export "f" (func (param "x" (own $r)))))))"""
    assert wasmtime_accepts(engine, wat(text))
    c = decode(text)
    rt = c.types[0].type
    assert c.types[1].type.export("f").type.params == (("x", Own(rt)),)
