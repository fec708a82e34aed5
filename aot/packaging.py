"""Wasm modules compiled at wheel-build time, loaded at run time.

A package declares its modules in its own pyproject.toml, and lists aot among its
build requirements; setuptools finds this hook through its plugin entry point
(`setuptools.finalize_distribution_options`), as it finds setuptools-scm's:

    [build-system]
    requires = ["setuptools>=70", "aot"]
    build-backend = "setuptools.build_meta"

    [tool.aot]
    modules = { example_pkg = ["wasm/*.wasm"] }   # globs in each package's folder
    opt-level = 2                                 # optional, as `aot compile -O`
    target-cpu = "x86-64-v2"                      # optional; the default travels
    embed-wasm = true                             # optional: rebuildable artifacts

`build_py` then compiles each module beside it in the build tree (`wasm/fib.wasm` ->
`wasm/fib.so`, all cores, through the compile cache), and the wheel is tagged for the
target's platform (`py3-none-linux_x86_64`): artifacts are machine code.  At run time,
`load_package_artifact("example_pkg", "wasm/fib")` loads one, without the compiler."""

from __future__ import annotations

import glob
import os
import sysconfig
from importlib import resources
from pathlib import Path

from aot.errors import AotError

ARTIFACT_SUFFIX = ".so"


class PackagingError(AotError):
    """The package's [tool.aot] table is not what the hook expects."""


def _read_config(root: Path) -> dict | None:
    """The [tool.aot] table of the project at `root`, or None when it has none."""
    path = root / "pyproject.toml"
    if not path.is_file():
        return None
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib  # setuptools depends on it there
    try:
        with open(path, "rb") as f:
            config = tomllib.load(f).get("tool", {}).get("aot")
    except (OSError, tomllib.TOMLDecodeError):
        return None  # not ours to report: setuptools reads the same file

    if config is None:
        return None
    modules = config.get("modules")
    if not isinstance(modules, dict) or not all(
            isinstance(p, str) and isinstance(g, list) and all(isinstance(x, str) for x in g)
            for p, g in modules.items()):
        raise PackagingError(f"{path}: [tool.aot] modules must map package names to lists "
                             "of globs, e.g. modules = { mypkg = [\"*.wasm\"] }")
    unknown = set(config) - {"modules", "opt-level", "target-cpu", "target", "embed-wasm", "jobs"}
    if unknown:
        raise PackagingError(f"{path}: [tool.aot] has unknown keys: {', '.join(sorted(unknown))}")
    return config


def _platform_tag(target: str | None) -> str:
    if target is None:
        return sysconfig.get_platform().replace("-", "_").replace(".", "_")
    return f"linux_{target.split('-', 1)[0]}"


def finalize_distribution_options(dist) -> None:
    """setuptools' plugin hook: for a project with a [tool.aot] table, compile its
    modules in `build_py` and tag the wheel for the target's platform."""
    # Runs for every setuptools build where aot is installed: cheap, silent without [tool.aot].
    config = _read_config(Path(getattr(dist, "src_root", None) or os.getcwd()))
    if config is None:
        return
    from setuptools.command.build_py import build_py as base

    class build_py(base):
        def run(self) -> None:
            super().run()
            compile_package_modules(self, config)

    dist.cmdclass["build_py"] = build_py
    wheel = dist.command_options.setdefault("bdist_wheel", {})
    wheel.setdefault("plat_name", ("aot", _platform_tag(config.get("target"))))


def compile_package_modules(cmd, config: dict) -> list[Path]:
    """Compile the modules `config` declares into the build tree of the `build_py`
    command `cmd`; returns the artifacts."""
    from aot.batch import compile_pairs
    from aot.codegen.options import CompileOptions

    pairs: list[tuple[Path, Path]] = []
    for package, patterns in config["modules"].items():
        src_dir = Path(cmd.get_package_dir(package))
        dst_dir = Path(cmd.build_lib, *package.split("."))
        found = sorted({Path(p) for pattern in patterns
                        for p in glob.glob(str(src_dir / pattern), recursive=True)})
        if not found:
            raise PackagingError(f"[tool.aot] modules: no file matches {patterns} in {src_dir}")
        pairs += [(wasm, (dst_dir / wasm.relative_to(src_dir)).with_suffix(ARTIFACT_SUFFIX))
                  for wasm in found]
    try:
        options = CompileOptions(opt_level=int(config.get("opt-level", 2)),
                                 target_cpu=config.get("target-cpu"),
                                 target=config.get("target"),
                                 embed_wasm=bool(config.get("embed-wasm", False)))
    except (TypeError, ValueError) as exc:
        raise PackagingError(f"[tool.aot]: {exc}") from None
    failed = [r for r in compile_pairs(pairs, options, jobs=config.get("jobs")) if r.error]
    if failed:
        raise PackagingError("; ".join(r.error for r in failed))
    outputs = [dst for _, dst in pairs]
    for out in outputs:
        cmd.announce(f"aot: compiled {out}", level=2)
    return outputs


def load_package_artifact(package: str, name: str, **load_options):
    """Load the artifact the build hook compiled from `<package folder>/<name>.wasm`:
    `load_package_artifact("example_pkg", "wasm/fib")`.  `load_options` go to
    `aot.load` (`rebuild=True` for an artifact built with embed-wasm)."""
    from aot.compiler import load

    resource = resources.files(package).joinpath(name + ARTIFACT_SUFFIX)
    if not resource.is_file():
        raise AotError(f"package {package!r} has no compiled module {name!r} "
                       f"({name}{ARTIFACT_SUFFIX}): was it built with aot's hook?")
    with resources.as_file(resource) as path:
        return load(path, **load_options)


__all__ = ["PackagingError", "compile_package_modules", "finalize_distribution_options",
           "load_package_artifact"]
