"""The per-unit compile cache: wasmtime's incremental compilation cache, at the grain of
rustc's incremental codegen units.

A codegen unit's object file is a function of its LLVM IR and of the compiler that turns
IR into machine code (the fingerprint: aot's build, LLVM's version, target, CPU and
every option).  The key is the SHA-256 of both, so a hit is exactly the object LLVM
would make again, whatever produced the IR.  Keying on the IR rather than on the wasm
inputs costs the translation of every unit at each build (the cheaper half of the work)
and buys certainty: nothing that changes code can be left out of the key.

What makes the IR of an unchanged unit unchanged when another function is edited:
compiled code holds no offset in the wasm file, only offsets in each function's body
(`aot.abi.traps.trap_site`, `aot.codegen.debuginfo`), and units are cut where the
content says (`aot.codegen.units`).  A function is recompiled with the unit that holds
it: at -O2 LLVM optimizes a unit's functions together (inlining), so they cannot be
reused apart; at -O0 and -O1 each function is a unit, so only the edited one is.  The objects live in the artifact cache's folders
(`aot.cache.Cache.get_unit`), pruned with it."""

from __future__ import annotations

import hashlib


def unit_key(fingerprint: bytes, ir_text: str) -> str:
    h = hashlib.sha256()
    h.update(fingerprint)
    h.update(b"\0")
    h.update(ir_text.encode())
    return h.hexdigest()


__all__ = ["unit_key"]
