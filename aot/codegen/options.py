"""Code generation options.  Every field here changes the artifact, so every field is part
of the artifact's fingerprint and of the cache key."""

from __future__ import annotations

import platform
from dataclasses import asdict, dataclass

DEFAULT_TARGET_CPU = "x86-64-v2"
BOUNDS_CHECKS = ("guard", "explicit")
# The architectures aot's ELF writer, trampolines and loader know.
SUPPORTED_ARCHS = ("x86_64", "amd64", "aarch64", "arm64")


def target_arch(triple: str | None) -> str:
    """The architecture of a target triple, or of this machine for None."""
    if triple is None:
        return platform.machine().lower()
    return triple.split("-", 1)[0].lower()


@dataclass(frozen=True)
class CompileOptions:
    opt_level: int = 2  # 0..3, as -O0..-O3
    target: str | None = None  # target triple, e.g. "aarch64-linux-gnu"; None: this machine
    # An LLVM CPU name, or "native" for this machine's CPU.  Default: the portable
    # baseline of the target's architecture (x86-64-v2 on x86-64, generic elsewhere).
    target_cpu: str | None = None
    # How linear-memory accesses are checked: "guard" (no checks in the code: accesses past
    # the end fault in guard pages and the fault becomes a trap; x86-64 Linux only) or
    # "explicit" (a compare and branch before every access).  Default: guard on x86-64.
    bounds_checks: str | None = None
    interrupts: bool = True  # loop headers check for Store.interrupt() (function entries always do)
    fuel: bool = False  # count operators against Store.set_fuel()
    backtraces: bool = True  # record the wasm frames of a trap (Trap.frames)
    # How many LLVM modules the functions are split into (`aot.codegen.units`), compiled
    # in parallel; None: by code size (one for small modules; one per function at -O0
    # and -O1); "function": one per function, whatever the size.  Fixed by the module
    # and this option only, so the artifact does not depend on the number of jobs.
    codegen_units: int | str | None = None
    # Keep the module's wasm in the artifact, so that `aot.load(..., rebuild=True)` can
    # recompile it where the artifact cannot run (another aot, another CPU).
    embed_wasm: bool = False
    # The multi-memory proposal (several memories, memory indices in memory instructions),
    # on by default as in wasmtime (`Config.wasm_multi_memory`); False: WebAssembly 2.0.
    multi_memory: bool = True
    # The memory64 proposal (memories addressed by i64), on by default as in wasmtime.
    # Its memories are bounds-checked explicitly, whatever `bounds_checks` says: guard
    # pages cannot cover a 64-bit address space.
    memory64: bool = True
    # The threads proposal (shared memories, atomic instructions, wait/notify), on by
    # default as in wasmtime.
    threads: bool = True

    def __post_init__(self) -> None:
        if target_arch(self.target) not in SUPPORTED_ARCHS:
            from aot.errors import NotSupportedError

            raise NotSupportedError(f"target {self.target or target_arch(None)}: aot compiles "
                                    "for x86_64 and aarch64 (Linux) only")
        x86 = target_arch(self.target) in ("x86_64", "amd64")
        if self.target_cpu is None:
            object.__setattr__(self, "target_cpu", DEFAULT_TARGET_CPU if x86 else "generic")
        if self.bounds_checks is None:
            object.__setattr__(self, "bounds_checks", "guard" if x86 else "explicit")
        if self.opt_level not in (0, 1, 2, 3):
            raise ValueError(f"opt_level must be 0, 1, 2 or 3, not {self.opt_level!r}")
        if self.codegen_units not in (None, "function") and not (
                isinstance(self.codegen_units, int) and not isinstance(self.codegen_units, bool)
                and 1 <= self.codegen_units <= 1024):
            raise ValueError(f"codegen_units must be an integer from 1 to 1024, 'function' "
                             f"or None, not {self.codegen_units!r}")
        if self.bounds_checks not in BOUNDS_CHECKS:
            raise ValueError(f"bounds_checks must be one of {', '.join(BOUNDS_CHECKS)}, "
                             f"not {self.bounds_checks!r}")

    @property
    def arch(self) -> str:
        return target_arch(self.target)

    def as_dict(self) -> dict:
        return asdict(self)
