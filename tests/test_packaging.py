"""Build integration (issue 16): `examples/package` declares its wasm module in
[tool.aot]; aot's setuptools hook compiles it into the wheel, which a fresh virtual
environment installs and calls without ever starting the compiler."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import aot
from aot.packaging import PackagingError, _read_config

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "package"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("package")
    src = work / "package"
    shutil.copytree(EXAMPLE, src)  # the build writes build/ and egg-info beside the sources
    dist = work / "dist"
    # No build isolation: the hook is the aot of this environment (aot is on no index).
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-build-isolation",
                           "--no-deps", "-w", str(dist), str(src)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    [built] = dist.glob("*.whl")
    return built


def test_the_wheel_carries_the_compiled_module_and_says_for_which_platform(wheel):
    assert wheel.name.startswith("example_pkg-1.0-py3-none-linux_")
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        artifact = z.read("example_pkg/wasm/example.so")
    assert "example_pkg/__init__.py" in names
    assert not any(n.endswith(".wasm") for n in names)  # embedded in the artifact instead
    exports = aot.load(artifact).instantiate().exports
    assert exports.fib(10) == 55


def test_a_fresh_venv_installs_the_wheel_and_calls_it_without_the_compiler(wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([getattr(sys, "_base_executable", sys.executable), "-m", "venv", str(venv)],
                   check=True, timeout=300)
    python = venv / "bin" / "python"
    done = subprocess.run([str(python), "-m", "pip", "install", "-q", str(ROOT), str(wheel)],
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr
    cache = tmp_path / "cache"
    probe = ("import sys, example_pkg\n"
             "print(example_pkg.fib(50), *example_pkg.divmod_u(17, 5))\n"
             "print('llvmlite.binding' in sys.modules, 'aot.codegen' in sys.modules)")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    run = subprocess.run([str(python), "-c", probe], cwd=tmp_path, capture_output=True,
                         text=True, timeout=300, env={**env, "AOT_CACHE_DIR": str(cache)})
    assert run.returncode == 0, run.stderr
    assert run.stdout.split("\n")[:2] == ["12586269025 3 2", "False False"]
    assert not cache.exists()  # loaded, not compiled


def test_a_table_that_is_not_what_the_hook_expects_is_refused_by_name(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.aot]\nmodules = ["*.wasm"]\n')
    with pytest.raises(PackagingError, match=r"modules must map package names to lists of globs"):
        _read_config(tmp_path)
    (tmp_path / "pyproject.toml").write_text('[tool.aot]\nmodules = {p = ["*.wasm"]}\nopt = 1\n')
    with pytest.raises(PackagingError, match="unknown keys: opt"):
        _read_config(tmp_path)
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    assert _read_config(tmp_path) is None  # not an aot package: the hook stays out of it


def test_a_missing_artifact_is_named():
    with pytest.raises(aot.AotError, match="package 'aot' has no compiled module 'nothing'"):
        aot.load_package_artifact("aot", "nothing")
