"""The externref collector and the stack maps it reads (issue 14): Python objects given
to wasm are released once no table, global or live wasm frame holds them, and never
while one does."""

from __future__ import annotations

import gc
import shutil
import subprocess
import sys
import weakref

import pytest
from elftools.elf.elffile import ELFFile

import aot
from aot.elf import stackmaps
from tests.conftest import wat


class Payload:
    """An object that can be weakly referenced (object() cannot)."""


HOLDS_ACROSS_CALLS = """
(module
  (import "env" "gc" (func $gc))
  (import "env" "make" (func $make (result externref)))
  (import "env" "reenter" (func $reenter (param externref) (result externref)))
  ;; an externref kept only in a local across a host call
  (func (export "in_local") (result externref) (local $r externref)
    (local.set $r (call $make))
    (call $gc)
    (local.get $r))
  ;; ... only on the operand stack, under the call's (lack of) arguments
  (func (export "on_stack") (result externref externref)
    (call $make) (call $make) (call $gc))
  ;; a parameter, across a host call that calls back into wasm
  (func (export "outer") (param externref) (result externref)
    (drop (call $reenter (call $make)))
    (local.get 0))
  (func (export "inner") (param externref) (result externref) (local $keep externref)
    (local.set $keep (call $make))
    (call $gc)
    (drop (local.get $keep))
    (local.get 0))
  (func (export "identity") (param externref) (result externref) (local.get 0))
)
"""


def _host(store, made):
    def make():
        obj = Payload()
        made.append(weakref.ref(obj))
        return obj

    def collect():
        store.gc()
        gc.collect()

    return make, collect


@pytest.mark.parametrize("opt_level", [0, 2])
def test_a_reference_held_only_by_a_wasm_frame_survives_a_collection(opt_level):
    module = aot.compile(wat(HOLDS_ACROSS_CALLS), opt_level=opt_level)
    store = aot.Store()
    made: list[weakref.ref] = []
    make, collect = _host(store, made)
    exports = {}

    def reenter(x):
        return exports["inner"](x)

    inst = module.instantiate({"env": {"gc": collect, "make": make, "reenter": reenter}},
                              store=store)
    exports["inner"] = inst.exports.inner
    # Each object below exists only in wasm (a local, the operand stack, a frame two
    # activations out) while the host collects: had the collector missed it, Python
    # would have freed it and the weakref would be dead.
    got = inst.exports.in_local()
    assert isinstance(got, Payload) and got is made[-1]()
    first, second = inst.exports.on_stack()
    assert (first, second) == (made[-2](), made[-1]()) and first is not second
    arg = Payload()
    assert inst.exports.outer(arg) is arg
    # `inner` ran in a nested activation and kept its own object in a local meanwhile.
    assert made[-1]() is not None or made[-2]() is not None
    del got, first, second, arg
    store.gc()
    gc.collect()
    assert [m() for m in made] == [None] * len(made)


TABLES = """
(module
  (table $a (export "a") 2 externref)
  (table $b (export "b") 2 externref)
  (global $g (export "g") (mut externref) (ref.null extern))
  (func (export "put") (param externref) (table.set $a (i32.const 0) (local.get 0)))
  (func (export "set_global") (param externref) (global.set $g (local.get 0)))
  (func (export "fill") (param i32 externref i32) (table.fill $a (local.get 0) (local.get 1) (local.get 2)))
  (func (export "copy_a_to_b") (table.copy $b $a (i32.const 0) (i32.const 0) (i32.const 2)))
  (func (export "grow_b") (param externref i32) (result i32) (table.grow $b (local.get 0) (local.get 1)))
  (func (export "clear") (param i32)
    (table.fill $a (i32.const 0) (ref.null extern) (table.size $a))
    (table.fill $b (i32.const 0) (ref.null extern) (table.size $b)))
)
"""


def _collect(store) -> None:
    store.gc()
    gc.collect()


def test_an_object_dropped_from_the_table_dies_after_a_collection():
    store = aot.Store()
    inst = aot.compile(wat(TABLES)).instantiate(store=store)
    first = Payload()
    ref = weakref.ref(first)
    inst.exports.put(first)
    del first
    _collect(store)
    assert ref() is not None, "the table still holds it"
    inst.exports.put(Payload())  # overwrites slot 0
    _collect(store)
    assert ref() is None


def test_arguments_are_not_retained_after_the_call():
    store = aot.Store()
    inst = aot.compile(wat(HOLDS_ACROSS_CALLS)).instantiate(
        {"env": {"gc": lambda: None, "make": Payload, "reenter": lambda x: x}}, store=store)
    passed = [Payload() for _ in range(5)]
    refs = [weakref.ref(p) for p in passed]
    for p in passed:
        assert inst.exports.identity(p) is p
    del passed, p
    _collect(store)
    assert [r() for r in refs] == [None] * 5


def test_globals_several_tables_and_bulk_table_operations_keep_what_they_hold():
    store = aot.Store()
    inst = aot.compile(wat(TABLES)).instantiate(store=store)
    e = inst.exports
    in_global, filled, grown = Payload(), Payload(), Payload()
    refs = {name: weakref.ref(o) for name, o in
            (("global", in_global), ("filled", filled), ("grown", grown))}
    e.set_global(in_global)
    e.fill(0, filled, 2)
    e.copy_a_to_b()  # now in both tables
    assert e.grow_b(grown, 3) == 2
    del in_global, filled, grown
    _collect(store)
    assert all(r() is not None for r in refs.values())
    assert e.b.get(1) is refs["filled"]() and e.b.get(4) is refs["grown"]()
    e.fill(0, None, 2)  # gone from table a, still in table b
    _collect(store)
    assert refs["filled"]() is not None
    e.clear(0)
    _collect(store)
    assert refs["filled"]() is None and refs["grown"]() is None
    assert refs["global"]() is not None
    e.g.value = None
    _collect(store)
    assert refs["global"]() is None


def test_host_tables_and_globals_are_roots_too():
    store = aot.Store()
    table = aot.Table(min=1, elem=aot.ValType.EXTERNREF)
    glob = aot.Global(aot.GlobalType(aot.ValType.EXTERNREF, True))
    module = aot.compile(wat("""(module
      (import "env" "t" (table 1 externref)) (import "env" "g" (global (mut externref))))"""))
    module.instantiate({"env": {"t": table, "g": glob}}, store=store)
    a, b = Payload(), Payload()
    ra, rb = weakref.ref(a), weakref.ref(b)
    table.set(0, a)
    glob.value = b
    del a, b
    _collect(store)
    assert ra() is not None and rb() is not None
    table.set(0, None)
    glob.value = None
    _collect(store)
    assert ra() is None and rb() is None


def test_automatic_collections_never_drop_a_value_being_passed_in():
    """A collection that starts while the arguments of a call are converted must keep
    the ones converted before it (they are in the value buffer, in no root yet)."""
    store = aot.Store()
    inst = aot.compile(wat("""(module
      (func (export "second") (param externref externref externref) (result externref)
        (local.get 1)))""")).instantiate(store=store)
    for _ in range(5000):  # several automatic collections
        a, b, c = Payload(), Payload(), Payload()
        assert inst.exports.second(a, b, c) is b


def test_a_trap_through_a_host_call_leaves_the_stack_walkable():
    """A host function calls wasm that traps (the trap unwinds through a host-call
    trampoline), catches it, then collects: the outer frame's local must survive."""
    store = aot.Store()
    exports = {}

    def host():
        with pytest.raises(aot.Trap):
            exports["boom"]()
        store.gc()
        gc.collect()

    inst = aot.compile(wat("""(module
      (import "env" "host" (func $host))
      (func (export "boom") unreachable)
      (func (export "keep") (param externref) (result externref)
        (call $host) (local.get 0)))""")).instantiate({"env": {"host": host}}, store=store)
    exports["boom"] = inst.exports.boom
    obj = Payload()
    ref = weakref.ref(obj)
    assert inst.exports.keep(obj) is obj
    del obj
    _collect(store)
    assert ref() is None


def _stack_map_section(module_bytes: bytes, tmp_path, opt_level=2):
    path = tmp_path / "m.so"
    aot.compile_file(module_bytes, path, aot.CompileOptions(opt_level=opt_level))
    with open(path, "rb") as f:
        section = ELFFile(f).get_section_by_name(stackmaps.SECTION)
        return path, (section.data() if section is not None else None)


def test_the_artifact_carries_the_stack_maps_and_inspect_counts_them(tmp_path, capsys):
    path, data = _stack_map_section(wat(HOLDS_ACROSS_CALLS), tmp_path)
    assert data is not None
    functions = stackmaps.parse(data)
    records = [r for f in functions for r in f.records]
    # Every call of every function is a GC point with a record; the local of `in_local`
    # is one slot, found relative to the frame pointer.
    assert len(records) >= 6
    assert any(loc.kind == stackmaps.DIRECT and loc.dwarf_reg == stackmaps.DWARF_RBP
               for r in records for loc in r.locations)
    if shutil.which("readelf"):
        out = subprocess.run(["readelf", "-S", str(path)], capture_output=True, text=True).stdout
        assert stackmaps.SECTION in out
    from aot.cli import main

    assert main(["inspect", str(path)]) == 0
    assert f"stack maps: {len(records)} call sites in {len(functions)} functions" in capsys.readouterr().out


def test_modules_without_externref_have_no_stack_maps(tmp_path, capsys):
    path, data = _stack_map_section(wat("""(module
      (import "env" "h" (func $h (param i32) (result i32)))
      (table 1 funcref)
      (func (export "f") (param i32) (result i32) (call $h (local.get 0))))"""), tmp_path)
    assert data is None
    from aot.cli import main

    assert main(["inspect", str(path)]) == 0
    assert "stack maps: none" in capsys.readouterr().out


MILLION = """
import resource, sys
import aot
wasm = bytes.fromhex(sys.argv[1])
store = aot.Store()
put = aot.compile(wasm).instantiate(store=store).exports.put

def rss_mib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20

for _ in range(20_000):  # warm up: code, caches, the registry's first collections
    put(bytearray(1024))
before = rss_mib()
for _ in range(1_000_000):
    put(bytearray(1024))
print(rss_mib() - before)
"""


def test_a_million_objects_through_one_table_slot_do_not_grow_memory():
    module = wat(TABLES)
    out = subprocess.run([sys.executable, "-c", MILLION, module.hex()], capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    growth = float(out.stdout)
    assert growth <= 10, f"RSS grew by {growth:.1f} MiB over 1,000,000 objects"


def test_stack_maps_also_work_through_the_system_linker(monkeypatch):
    """`AOT_LINKER=system` (for debugging the writer) is given the stack maps unloaded
    too, so their addresses are resolved at link time as aot's writer does."""
    from aot.codegen.link import LINKER_CANDIDATES

    if not any(shutil.which(ld) for ld in LINKER_CANDIDATES):
        pytest.skip("no system linker (ld.lld, ld) on PATH")
    monkeypatch.setenv("AOT_LINKER", "system")
    module = aot.compile(wat(HOLDS_ACROSS_CALLS), cache=False)
    store = aot.Store()
    made: list[weakref.ref] = []
    make, collect = _host(store, made)
    inst = module.instantiate({"env": {"gc": collect, "make": make, "reenter": lambda x: x}},
                              store=store)
    assert inst.exports.in_local() is made[-1]()
