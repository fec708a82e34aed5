"""wasi:random — random, insecure and insecure-seed, all from the host's CSPRNG (as
preview 1's random_get): "insecure" only allows less, never asks for it."""

from __future__ import annotations

import os

from aot.component.abi import MAX_LIST_BYTE_LENGTH
from aot.component.abi_context import trap
from aot.component.wasi.host import Interface


def _bytes(n: int) -> bytes:
    if n > MAX_LIST_BYTE_LENGTH:
        raise trap(f"wasi:random: {n} random bytes asked for, more than a list can hold")
    return os.urandom(n)


def _u64() -> int:
    return int.from_bytes(os.urandom(8), "little")


def add_random(iface: Interface) -> None:
    iface.funcs({"get-random-bytes": _bytes, "get-random-u64": _u64})


def add_insecure(iface: Interface) -> None:
    iface.funcs({"get-insecure-random-bytes": _bytes, "get-insecure-random-u64": _u64})


def add_insecure_seed(iface: Interface) -> None:
    iface.func("insecure-seed", lambda: (_u64(), _u64()))
