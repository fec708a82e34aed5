"""The externref collector: a Python object given to wasm is released once no table,
global or live wasm frame of its store holds its handle.

wasmtime's design, adapted to handles that are plain words (`aot.loader.refs`):

* Every handle given to wasm is registered in the store's `RefContext`; registering
  counts, and once `threshold` handles were given out since the last collection (the
  activations table filling up, in wasmtime's words) the next one starts a collection.
  `Store.gc()` starts one on demand.
* Roots are the words of the store's externref tables and globals (read straight from
  their memory: tracing them at collection time costs compiled code nothing, where
  counting would add work to every `table.set`) and the words in the stack slots of the
  wasm frames on the native stack.  A collection that starts while values are being
  converted for wasm (the automatic ones) also keeps the last `RECENT_ROOTS` handles
  given out, which may still sit in a value buffer on their way in; `Store.gc()` runs
  between conversions and needs no such margin.
* Wasm frames are found from the store context: `last_exit_fp` is the frame of the
  host-call trampoline through which wasm called the host now running, each entry
  trampoline's activation record links to the enclosing activation
  (`aot.abi.vmctx.Activation`), and between the two the frame-pointer chain gives each
  return address, which the artifact's stack maps turn into the caller's reference
  slots (`aot.codegen.stackmaps`, `aot.elf.stackmaps`).
* Everything registered that no root names is dropped from the registry: Python frees
  the object when nothing else holds it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aot.abi.vmctx import Activation
from aot.elf.stackmaps import DWARF_RBP
from aot.loader.ffi import address, ffi
from aot.wasm.types import ValType

if TYPE_CHECKING:
    from aot.loader.refs import RefContext

RECENT_ROOTS = 1024  # at least the most values one conversion gives wasm at once
MIN_THRESHOLD = 1024
_WORDS = ffi.typeof("uint64_t *")
_MAX_FRAMES = 1 << 20  # a chain longer than any stack can hold is a broken one


class UnsafeToCollect(Exception):
    """Wasm is running but its frames cannot be found: collecting now could free an
    object a frame still holds, so the collection is skipped."""


def collect(refs: RefContext, *, in_conversion: bool = False) -> int:
    """One collection of `refs` (a store's): the number of objects released.
    `in_conversion`: started while values are being converted for wasm, so the handles
    just given out may sit in a value buffer, not yet in any root: they are kept."""
    try:
        roots = set(refs.recent) if in_conversion else set()
        _table_and_global_words(refs, roots)
        if refs.store is not None:
            _stack_words(refs.store, roots)
    except UnsafeToCollect:
        return 0
    objects = refs.objects
    live = objects.keys() & roots
    released = len(objects) - len(live)
    if released:
        refs.objects = {h: objects[h] for h in live}
    refs.issued = 0
    refs.threshold = max(MIN_THRESHOLD, 2 * len(live))
    return released


def _table_and_global_words(refs: RefContext, roots: set) -> None:
    for holder in list(refs.holders):
        roots.update(holder._gc_words())
    store = refs.store
    if store is None:
        return
    for inst in store._instances:
        desc = inst.module._artifact.desc
        slots = inst._global_slots
        for k, gt in enumerate(desc.globals):
            if gt.type == ValType.EXTERNREF:
                roots.add(address(slots[k].ref))


def _stack_words(store, roots: set) -> None:
    """The words in the reference slots of every wasm frame of `store` on this stack."""
    from aot.loader.backtrace import artifact_at

    ctx = store._ctx
    activation = address(ctx.jmp_buf)
    exit_fp = ctx.last_exit_fp
    frames = 0
    while activation:
        record = ffi.cast(_WORDS, activation)
        if not exit_fp:
            raise UnsafeToCollect  # wasm runs, but not through a host call: no way in
        stop = record[Activation.FRAME // 8]
        fp = exit_fp
        while fp < stop:
            frame = ffi.cast(_WORDS, fp)
            caller_fp, ret = frame[0], frame[1]
            if caller_fp <= fp or frames > _MAX_FRAMES:
                raise UnsafeToCollect
            art = artifact_at(ret)
            if art is not None:
                for reg, offset in art.stack_map_slots(ret):
                    # rbp-based: the caller's frame pointer; rsp-based: its stack pointer
                    # at the call, just above the return address and the saved rbp.
                    base = caller_fp if reg == DWARF_RBP else fp + 16
                    roots.add(ffi.cast(_WORDS, base + offset)[0])
            fp = caller_fp
            frames += 1
        exit_fp = record[Activation.PREV_EXIT_FP // 8]
        activation = record[Activation.PREV // 8]


__all__ = ["MIN_THRESHOLD", "RECENT_ROOTS", "collect"]
