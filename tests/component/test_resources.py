"""Resources across the component boundary: a resource type the host defines (the
component imports it, the host creates and bumps counters, the guest drops its handle),
and one the guest defines (exported constructor and method; the host owns, lends and
drops the values), with destructors counted."""

from __future__ import annotations

import pytest
import wasmtime

import aot
from aot.component import Linker
from aot.component.runtime import Component

RESOURCES = r"""(component
  (import "counter" (type $c (sub resource)))
  (import "[constructor]counter" (func $new (param "start" u32) (result (own $c))))
  (import "[method]counter.bump" (func $bump (param "self" (borrow $c)) (result u32)))
  (core func $new_core (canon lower (func $new)))
  (core func $bump_core (canon lower (func $bump)))
  (core func $drop_counter (canon resource.drop $c))
  (core module $dtor_mod
    (global $n (mut i32) (i32.const 0))
    (func (export "dtor") (param i32) (global.set $n (i32.add (global.get $n) (i32.const 1))))
    (func (export "count") (result i32) (global.get $n)))
  (core instance $d (instantiate $dtor_mod))
  (type $g (resource (rep i32) (dtor (core func $d "dtor"))))
  (core func $g_new (canon resource.new $g))
  (core module $m
    (import "host" "new" (func $new (param i32) (result i32)))
    (import "host" "bump" (func $bump (param i32) (result i32)))
    (import "host" "drop" (func $drop (param i32)))
    (import "g" "new" (func $g_new (param i32) (result i32)))
    (func (export "use-host") (param i32) (result i32)
      (local $h i32) (local $r i32)
      (local.set $h (call $new (local.get 0)))
      (drop (call $bump (local.get $h)))
      (local.set $r (call $bump (local.get $h)))
      (call $drop (local.get $h))
      (local.get $r))
    (func (export "make") (param i32) (result i32) (call $g_new (local.get 0)))
    ;; a borrow of a resource this instance defines arrives as its representation
    (func (export "get") (param i32) (result i32) (i32.mul (local.get 0) (i32.const 10))))
  (core instance $i (instantiate $m
    (with "host" (instance (export "new" (func $new_core)) (export "bump" (func $bump_core))
                           (export "drop" (func $drop_counter))))
    (with "g" (instance (export "new" (func $g_new))))))
  (export $ge "g" (type $g))
  (func (export "use-host") (param "start" u32) (result u32) (canon lift (core func $i "use-host")))
  (func (export "[constructor]g") (param "v" u32) (result (own $ge)) (canon lift (core func $i "make")))
  (func (export "[method]g.get") (param "self" (borrow $ge)) (result u32) (canon lift (core func $i "get")))
  (func (export "dtors") (result u32) (canon lift (core func $d "count"))))"""


@pytest.fixture(params=[0, 2], ids=["O0", "O2"])
def world(request):
    counters: dict[int, int] = {}
    dropped: list[int] = []
    linker = Linker()
    root = linker.root()
    counter = root.resource("counter", dtor=dropped.append)

    def new(start):
        rep = len(counters) + 1
        counters[rep] = start
        return counter.new(rep)

    def bump(self):
        assert not self.own  # a borrow, lent for this call only
        counters[self.rep] += 1
        return counters[self.rep]

    root.func_wrap("[constructor]counter", new)
    root.func_wrap("[method]counter.bump", bump)
    component = Component(wasmtime.wat2wasm(RESOURCES), opt_level=request.param, cache=False)
    return linker.instantiate(component), counters, dropped


def test_a_host_resource_is_created_lent_and_dropped_by_the_guest(world):
    instance, counters, dropped = world
    assert instance["use-host"](5) == 7
    assert counters == {1: 7}
    assert dropped == [1]  # the guest dropped its own handle: the host's destructor, once
    assert instance["use-host"](0) == 2
    assert dropped == [1, 2]


def test_a_guest_resource_is_owned_lent_and_dropped_by_the_host(world):
    instance, _counters, _dropped = world
    g = instance["[constructor]g"](42)
    assert g.own and g.rep == 42
    assert instance["[method]g.get"](g) == 420  # lent, and still the host's after
    assert instance["[method]g.get"](g) == 420
    assert instance["dtors"]() == 0
    g.drop()
    assert instance["dtors"]() == 1  # the guest's destructor ran, once
    with pytest.raises(ValueError, match="dropped"):
        instance["[method]g.get"](g)
    with pytest.raises(ValueError, match="already dropped"):
        g.drop()
    assert instance["dtors"]() == 1


def test_a_resource_import_needs_a_host_resource():
    linker = Linker()
    linker.root().func_wrap("counter", lambda: None)
    with pytest.raises(aot.LinkError, match="resource"):
        linker.instantiate(Component(wasmtime.wat2wasm(RESOURCES), cache=False))
