"""Components end to end: compiled core modules, the instantiation graph, host imports,
exports called from Python through the canonical ABI, post-return and poisoning, each
beside wasmtime-py's component support on the same binary.

The round trips go Python -> export (lowered into guest memory) -> the guest passes the
value on to a host import (lifted from guest memory) -> the host returns it (lowered
into the guest's return area) -> the export returns that area (lifted back): every type
crosses the boundary four times, in both directions."""

from __future__ import annotations

import pytest
import wasmtime
import wasmtime.component as wc

import aot
from aot.component import abi
from aot.component import types as t
from aot.component.runtime import Component, ComponentPoisonedError, Linker

LIBC = r"""
  (core module $libc (memory (export "mem") 1)
    (global $bump (mut i32) (i32.const 1024))
    ;; A bump allocator that keeps realloc's contract: shrinking stays in place, growing
    ;; copies the old bytes.
    (func (export "realloc") (param i32 i32 i32 i32) (result i32)
      (local $p i32)
      (if (i32.and (i32.ne (local.get 0) (i32.const 0)) (i32.le_u (local.get 3) (local.get 1)))
        (then (return (local.get 0))))
      (local.set $p (i32.and (i32.add (global.get $bump) (i32.sub (local.get 2) (i32.const 1)))
                             (i32.xor (i32.sub (local.get 2) (i32.const 1)) (i32.const -1))))
      (global.set $bump (i32.add (local.get $p) (local.get 3)))
      (if (i32.gt_u (global.get $bump) (i32.const 65536)) (then unreachable))
      (if (local.get 0) (then (memory.copy (local.get $p) (local.get 0) (local.get 1))))
      (local.get $p)))
  (core instance $libc (instantiate $libc))"""
OPTS = '(memory (core memory $libc "mem")) (realloc (core func $libc "realloc"))'

SHOUT = rf"""(component
  (import "log" (func $log (param "msg" string)))
  {LIBC}
  (core func $log_lowered (canon lower (func $log) {OPTS}))
  (core module $m
    (import "libc" "mem" (memory 1))
    (import "libc" "realloc" (func $realloc (param i32 i32 i32 i32) (result i32)))
    (import "host" "log" (func $log (param i32 i32)))
    (global $posts (mut i32) (i32.const 0))
    (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
    (func (export "shout") (param i32 i32) (result i32)
      (local $out i32) (local $i i32)
      (call $log (local.get 0) (local.get 1))
      (local.set $out (call $realloc (i32.const 0) (i32.const 0) (i32.const 4) (i32.const 8)))
      (i32.store (local.get $out) (call $realloc (i32.const 0) (i32.const 0) (i32.const 1) (local.get 1)))
      (i32.store offset=4 (local.get $out) (local.get 1))
      (block $done (loop $l
        (br_if $done (i32.ge_u (local.get $i) (local.get 1)))
        (i32.store8 (i32.add (i32.load (local.get $out)) (local.get $i))
          (i32.sub (i32.load8_u (i32.add (local.get 0) (local.get $i))) (i32.const 32)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l)))
      (local.get $out))
    (func (export "post") (param i32) (global.set $posts (i32.add (global.get $posts) (i32.const 1))))
    (func (export "posts") (result i32) (global.get $posts))
    (func (export "boom") unreachable))
  (core instance $i (instantiate $m (with "libc" (instance $libc))
      (with "host" (instance (export "log" (func $log_lowered))))))
  (func (export "add") (param "a" u32) (param "b" u32) (result u32) (canon lift (core func $i "add")))
  (func (export "shout") (param "s" string) (result string)
    (canon lift (core func $i "shout") {OPTS} (post-return (core func $i "post"))))
  (func (export "posts") (result u32) (canon lift (core func $i "posts")))
  (func (export "boom") (canon lift (core func $i "boom"))))"""


def _wasmtime_instance(binary: bytes, host: dict):
    config = wasmtime.Config()
    config.wasm_component_model = True
    engine = wasmtime.Engine(config)
    linker = wc.Linker(engine)
    with linker.root() as root:
        for name, fn in host.items():
            root.add_func(name, lambda store, *args, fn=fn: fn(*args))
    store = wasmtime.Store(engine)
    instance = linker.instantiate(store, wc.Component(engine, binary))
    return lambda name, *args: instance.get_func(store, name)(store, *args)


def _aot_instance(binary: bytes, host: dict, opt_level: int):
    linker = Linker()
    for name, fn in host.items():
        linker.root().func_wrap(name, fn)
    instance = linker.instantiate(Component(binary, opt_level=opt_level, cache=False))
    return lambda name, *args: instance[name](*args)


@pytest.mark.parametrize("opt_level", [0, 2])
def test_strings_and_a_host_import_as_wasmtime_does(opt_level):
    binary = wasmtime.wat2wasm(SHOUT)
    ours_log, theirs_log = [], []
    ours = _aot_instance(binary, {"log": ours_log.append}, opt_level)
    theirs = _wasmtime_instance(binary, {"log": theirs_log.append})
    for word in ("hello", "abc", ""):
        assert ours("shout", word) == theirs("shout", word) == word.upper()
    assert ours("add", 2, 40) == theirs("add", 2, 40) == 42
    assert ours_log == theirs_log == ["hello", "abc", ""]
    assert ours("posts") == theirs("posts") == 3  # post-return: once per successful call


def test_a_trap_poisons_the_instance_and_post_return_runs_once_per_call():
    binary = wasmtime.wat2wasm(SHOUT)
    call = _aot_instance(binary, {"log": lambda msg: None}, 2)
    call("shout", "x")
    call("shout", "y")
    assert call("posts") == 2
    with pytest.raises(aot.Trap, match="unreachable"):
        call("boom")
    with pytest.raises(ComponentPoisonedError, match="trapped"):
        call("add", 1, 2)


# --- round trips of every value type ---------------------------------------------------


_NOMINAL = (t.Record, t.Variant, t.Enum_, t.Flags)


def _wat_type(ty, named: list[str] | None = None) -> str:
    """The component text of a value type.  With `named`, records, variants, enums and
    flags are defined and imported under a name (appended to `named`), as the component
    model requires of the types an import's signature uses, and referred to by it."""
    if named is not None and isinstance(ty, _NOMINAL):
        body = _wat_type_body(ty, named)
        k = len(named)
        named.append(f'(type $d{k} {body}) (import "t{k}" (type $n{k} (eq $d{k})))')
        return f"$n{k}"
    return _wat_type_body(ty, named)


def _wat_type_body(ty, named: list[str] | None) -> str:
    def sub(x):
        return _wat_type(x, named)

    if isinstance(ty, t.Prim):
        return ty.value
    if isinstance(ty, t.List):
        return f"(list {sub(ty.elem)})"
    if isinstance(ty, t.Record):
        return "(record " + " ".join(f'(field "{n}" {sub(f)})' for n, f in ty.fields) + ")"
    if isinstance(ty, t.Tuple):
        return "(tuple " + " ".join(sub(x) for x in ty.types) + ")"
    if isinstance(ty, t.Variant):
        return "(variant " + " ".join(
            f'(case "{n}" {sub(c)})' if c is not None else f'(case "{n}")'
            for n, c in ty.cases) + ")"
    if isinstance(ty, t.Enum_):
        return "(enum " + " ".join(f'"{n}"' for n in ty.names) + ")"
    if isinstance(ty, t.Flags):
        return "(flags " + " ".join(f'"{n}"' for n in ty.names) + ")"
    if isinstance(ty, t.Option):
        return f"(option {sub(ty.type)})"
    if isinstance(ty, t.Result):
        ok = f" {sub(ty.ok)}" if ty.ok is not None else ""
        err = f" (error {sub(ty.err)})" if ty.err is not None else ""
        return f"(result{ok}{err})"
    raise AssertionError(ty)


def _echo_component(ty, encoding: str) -> bytes:
    """Exports `echo: func(x: T) -> T`, whose core code hands its flat parameters to
    the imported `host-echo` of the same type and returns what that wrote to a static
    return area (or its single flat result)."""
    ft = t.FuncType((("x", ty),), ty)
    lift = abi.flatten_functype(ft, "lift")
    lower = abi.flatten_functype(ft, "lower")
    params = " ".join(lift.params)
    args = " ".join(f"(local.get {k})" for k in range(len(lift.params)))
    if len(lower.params) > len(lift.params):  # results through a return area
        body = f"(call $host {args} (i32.const 2048)) (i32.const 2048)"
    else:
        body = f"(call $host {args})"
    result = f"(result {lift.results[0]})" if lift.results else ""
    lower_results = f"(result {lower.results[0]})" if lower.results else ""
    named: list[str] = []
    wt = _wat_type(ty, named)
    tref = wt if wt.startswith("$") else "$t"
    opts = f"string-encoding={encoding} {OPTS}"
    return wasmtime.wat2wasm(rf"""(component
      {" ".join(named)}
      {"" if wt.startswith("$") else f"(type $t {wt})"}
      (import "host-echo" (func $host (param "x" {tref}) (result {tref})))
      {LIBC}
      (core func $host_lowered (canon lower (func $host) {opts}))
      (core module $m
        (import "libc" "mem" (memory 1))
        (import "host" "echo" (func $host (param {" ".join(lower.params)}) {lower_results}))
        (func (export "echo") (param {params}) {result} {body}))
      (core instance $i (instantiate $m (with "libc" (instance $libc))
          (with "host" (instance (export "echo" (func $host_lowered))))))
      (func (export "echo") (param "x" {tref}) (result {tref}) (canon lift (core func $i "echo") {opts})))""")


POINT = t.Record((("x", t.Prim.S32), ("label", t.Prim.STRING)))
SHAPE = t.Variant((("circle", t.Prim.F64), ("polygon", t.List(POINT)), ("empty", None)))
ROUND_TRIPS = [
    ("u8", t.Prim.U8, 255),
    ("s64", t.Prim.S64, -(2**63)),
    ("f32", t.Prim.F32, 1.5),
    ("f64", t.Prim.F64, -0.0),
    ("char", t.Prim.CHAR, "\U0001F600"),
    ("bool", t.Prim.BOOL, True),
    ("string", t.Prim.STRING, "h\u00e9llo w\u00f6rld \u263a \U0001F600"),
    ("latin1 string", t.Prim.STRING, "caf\u00e9 cr\u00e8me"),
    ("empty string", t.Prim.STRING, ""),
    ("bytes", t.List(t.Prim.U8), b"\x00\x01\xfe\xff"),
    ("list of records", t.List(POINT), [{"x": -1, "label": "a"}, {"x": 7, "label": "\u00e9\u263a"}]),
    ("nested lists of records", t.List(t.List(POINT)),
     [[{"x": 1, "label": "p"}], [], [{"x": 2, "label": "q"}, {"x": 3, "label": "r"}]]),
    ("tuple", t.Tuple((t.Prim.U8, t.Prim.STRING, t.Prim.F64)), (7, "seven", 7.5)),
    ("enum", t.Enum_(("red", "green", "blue")), "blue"),
    ("option some", t.Option(t.Prim.STRING), "here"),
    ("option none", t.Option(t.Prim.STRING), None),
    ("flags", t.Flags(tuple(f"f{k}" for k in range(32))), frozenset({"f0", "f17", "f31"})),
    ("result of a variant", t.Result(SHAPE, t.Prim.STRING),
     abi.Ok(abi.Variant("polygon", [{"x": 1, "label": "a"}, {"x": 2, "label": "b"}]))),
    ("result err", t.Result(SHAPE, t.Prim.STRING), abi.Err("no shape")),
    ("variant without payload", SHAPE, abi.Variant("empty")),
    ("many params spill", t.Tuple(tuple([t.Prim.U64] * 9)), tuple(range(2**40, 2**40 + 9))),
]


def _plain(value):
    """Both engines' values in one form: lists, dicts, tuples, plain scalars."""
    if isinstance(value, (abi.Ok, abi.Err)):
        return (type(value).__name__, _plain(value.value))
    if isinstance(value, abi.Variant):
        return ("variant", value.case, _plain(value.value))
    if isinstance(value, wc.Variant):
        return ("variant", value.tag, _plain(value.payload))
    if isinstance(value, wc.Record):
        return {k.replace("_", "-"): _plain(v) for k, v in vars(value).items()}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, abi.WasmList)):
        return [_plain(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_plain(v) for v in value)
    if isinstance(value, (set, frozenset)):
        return frozenset(value)
    if isinstance(value, float):
        return ("float", value.hex())  # -0.0 is not 0.0
    return value


def _prims(ty) -> set:
    if isinstance(ty, t.Prim):
        return {ty}
    children = []
    if isinstance(ty, (t.Record,)):
        children = [f for _n, f in ty.fields]
    elif isinstance(ty, t.Variant):
        children = [c for _n, c in ty.cases if c is not None]
    elif isinstance(ty, t.List):
        children = [ty.elem]
    elif isinstance(ty, t.Tuple):
        children = list(ty.types)
    elif isinstance(ty, t.Option):
        children = [ty.type]
    elif isinstance(ty, t.Result):
        children = [c for c in (ty.ok, ty.err) if c is not None]
    return set().union(*(_prims(c) for c in children)) if children else set()


def _round_trip_cases() -> list:
    """Each type at -O0 and -O2; types holding strings in every string encoding (the
    encoding changes nothing else)."""
    cases = []
    for name, ty, value in ROUND_TRIPS:
        encodings = ("utf8", "utf16", "latin1+utf16") if t.Prim.STRING in _prims(ty) else ("utf8",)
        cases += [pytest.param(ty, value, o, e, id=f"{name}-O{o}-{e}")
                  for o in (0, 2) for e in encodings]
    return cases


@pytest.mark.parametrize("ty, value, opt_level, encoding", _round_trip_cases())
def test_every_type_round_trips_through_an_export_and_a_host_import(ty, value, opt_level,
                                                                     encoding):
    binary = _echo_component(ty, encoding)
    seen = []

    def host_echo(x):
        seen.append(_plain(x))
        return x

    ours = _aot_instance(binary, {"host-echo": host_echo}, opt_level)("echo", value)
    assert _plain(ours) == _plain(value)
    assert seen == [_plain(value)]  # the host got it lifted from the guest's memory


@pytest.mark.parametrize("name, ty, value", [r for r in ROUND_TRIPS if r[0] in (
    "string", "list of records", "tuple", "enum", "option some", "flags", "char")],
    ids=lambda v: v if isinstance(v, str) else "")
def test_wasmtime_reads_the_same_values(name, ty, value):
    binary = _echo_component(ty, "utf8")
    ours = _aot_instance(binary, {"host-echo": lambda x: x}, 2)("echo", value)
    theirs = _wasmtime_instance(binary, {"host-echo": lambda x: x})("echo", _to_wasmtime(value))
    assert _plain(ours) == _plain(theirs)


def _to_wasmtime(value):
    if isinstance(value, list) and value and isinstance(value[0], dict):
        out = []
        for d in value:
            r = wc.Record()
            for k, v in d.items():
                setattr(r, k, v)
            out.append(r)
        return out
    if isinstance(value, frozenset):
        return set(value)
    return value




def test_a_missing_import_is_named():
    with pytest.raises(aot.LinkError, match="'log'"):
        Linker().instantiate(Component(wasmtime.wat2wasm(SHOUT), cache=False))


def test_wrong_argument_types_name_the_parameter():
    call = _aot_instance(wasmtime.wat2wasm(SHOUT), {"log": lambda m: None}, 2)
    with pytest.raises(TypeError, match="parameter 'a'"):
        call("add", "two", 2)
    with pytest.raises(ValueError, match="parameter 'b'"):
        call("add", 1, -1)


def test_aot_inspect_prints_a_components_wit_level_imports_and_exports(tmp_path):
    import subprocess
    import sys

    path = tmp_path / "shout.wasm"
    path.write_bytes(wasmtime.wat2wasm(SHOUT))
    done = subprocess.run([sys.executable, "-m", "aot", "inspect", str(path)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "import log: func(msg: string)" in done.stdout
    assert "export shout: func(s: string) -> string" in done.stdout


@pytest.mark.parametrize("opt_level", [0, 2])
@pytest.mark.parametrize("count", [33, 64, 70])
def test_flags_of_more_than_32_members_round_trip_with_more_flags(opt_level, count):
    """The current spec (and wasmtime 51) bound flags at 32; `more_flags` takes the
    earlier layout, one i32 per 32 flags, as wasmtime's component-model-more-flags."""
    ty = t.Flags(tuple(f"f{k}" for k in range(count)))
    binary = _echo_component(ty, "utf8")
    with pytest.raises(aot.CompileError, match="at most 32 flags"):
        Component(binary, cache=False)
    linker = Linker()
    seen = []
    linker.root().func_wrap("host-echo", lambda x: seen.append(x) or x)
    echo = linker.instantiate(Component(binary, more_flags=True, opt_level=opt_level,
                                        cache=False))["echo"]
    value = frozenset({"f0", "f31", "f32", f"f{count - 1}"})
    assert echo(value) == value and seen == [value]
    assert echo(frozenset()) == frozenset()
