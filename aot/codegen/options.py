"""Code generation options.  Every field here changes the artifact, so every field is part
of the artifact's fingerprint and of the cache key."""

from __future__ import annotations

from dataclasses import asdict, dataclass

DEFAULT_TARGET_CPU = "x86-64-v2"
BOUNDS_CHECKS = ("guard", "explicit")


@dataclass(frozen=True)
class CompileOptions:
    opt_level: int = 2  # 0..3, as -O0..-O3
    target_cpu: str = DEFAULT_TARGET_CPU  # "native" for the host CPU
    # How linear-memory accesses are checked: "guard" (no checks in the code: accesses past
    # the end fault in guard pages and the fault becomes a trap; x86-64 Linux only) or
    # "explicit" (a compare and branch before every access).
    bounds_checks: str = "guard"
    interrupts: bool = True  # loop headers check for Store.interrupt() (function entries always do)
    fuel: bool = False  # count operators against Store.set_fuel()
    backtraces: bool = True  # record the wasm frames of a trap (Trap.frames)

    def __post_init__(self) -> None:
        if self.opt_level not in (0, 1, 2, 3):
            raise ValueError(f"opt_level must be 0, 1, 2 or 3, not {self.opt_level!r}")
        if self.bounds_checks not in BOUNDS_CHECKS:
            raise ValueError(f"bounds_checks must be one of {', '.join(BOUNDS_CHECKS)}, "
                             f"not {self.bounds_checks!r}")

    def as_dict(self) -> dict:
        return asdict(self)
