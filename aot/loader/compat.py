"""Can this process run an artifact?  One sentence per reason it cannot, in the style of
wasmtime's ("Module was compiled with incompatible version", "compilation setting avx2 is
enabled, but not available on the host")."""

from __future__ import annotations

import platform
from functools import cache

from aot.abi.fingerprint import Fingerprint
from aot.version import full_version

_ARCH_ALIASES = {"amd64": "x86_64", "arm64": "aarch64"}


def _arch(name: str) -> str:
    name = name.lower()
    return _ARCH_ALIASES.get(name, name)


@cache
def host_arch() -> str:
    return _arch(platform.machine())


@cache
def host_llvm_version() -> str:
    import llvmlite.binding as llvm  # ~60 ms: only when the llvmlite versions differ

    return ".".join(map(str, llvm.llvm_version_info))


def _same_llvm(fp: Fingerprint) -> bool:
    import llvmlite  # the package alone: no LLVM loaded

    # The same llvmlite release carries the same LLVM: no need to load it to ask.
    if fp.llvmlite_version and fp.llvmlite_version == llvmlite.__version__:
        return True
    return fp.llvm_version == host_llvm_version()


# LLVM's names for x86 features whose /proc/cpuinfo flag is spelled otherwise.
_CPUINFO_NAMES = {"sahf": "lahf_lm", "sse3": "pni", "sse4.1": "sse4_1", "sse4.2": "sse4_2",
                  "bmi": "bmi1", "lzcnt": "abm", "pclmul": "pclmulqdq", "64bit": "lm",
                  "crc32": "sse4_2", "rdrnd": "rdrand", "sha": "sha_ni",
                  "prfchw": "3dnowprefetch", "shstk": "user_shstk"}


@cache
def _cpuinfo_flags() -> frozenset[str] | None:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return None


@cache
def _llvm_cpu_features() -> frozenset[str]:
    import llvmlite.binding as llvm

    return frozenset(k for k, on in llvm.get_host_cpu_features().items() if on)


def missing_cpu_features(features: tuple[str, ...]) -> list[str]:
    """The features in `features` this CPU lacks.  Read from /proc/cpuinfo where the
    names are known (loading LLVM to ask costs more than the whole load otherwise)."""
    flags = _cpuinfo_flags() if host_arch() == "x86_64" else None
    if flags is not None:
        names = [_CPUINFO_NAMES.get(f, f.replace(".", "_")) for f in features]
        if all(n in flags or n.startswith("avx512") for n in names):
            return [f for f, n in zip(features, names) if n not in flags]
    have = _llvm_cpu_features()
    return [f for f in features if f not in have]


def _describe_option(name: str, built, wanted) -> str:
    if isinstance(built, bool) and isinstance(wanted, bool):
        built_s = f"with {name}" if built else f"without {name}"
        wanted_s = "enabled" if wanted else "disabled"
        return f"compiled {built_s} but {name} is {wanted_s}"
    return f"compiled with {name}={built!r} but {name}={wanted!r} is required"


def incompatibilities(fp: Fingerprint, expect: dict | None = None) -> list[str]:
    """Every reason this process cannot (or must not) run code with fingerprint `fp`."""
    out = []
    if fp.aot_version != full_version():
        out.append(f"compiled by aot {fp.aot_version}, this is aot {full_version()}")
    if not _same_llvm(fp):
        out.append(f"compiled with LLVM {fp.llvm_version}, this aot uses LLVM {host_llvm_version()}")
    if _arch(fp.arch) != host_arch():
        out.append(f"compiled for {fp.triple}, this machine is {host_arch()}")
    else:
        missing = missing_cpu_features(fp.features)
        if missing:
            which = ", ".join(missing)
            verb = "lacks" if len(missing) == 1 else "lack"
            out.append(f"compiled for {_arch(fp.arch)} ({fp.cpu}) with {which}, which this CPU {verb}")
        if fp.options.get("bounds_checks") == "guard" and not (
            host_arch() == "x86_64" and platform.system() == "Linux"
        ):
            out.append("compiled with guard-page bounds checks, which need x86-64 Linux")
    for name, wanted in (expect or {}).items():
        built = fp.options.get(name)
        if built != wanted:
            out.append(_describe_option(name, built, wanted))
    return out
