"""Compiling many modules at once, as a build step does: one artifact per input, several
compiles at a time, every failure named and none stopping the others.

Each module is compiled by a child process (`python -m aot.batch`): small modules then
compile in parallel too (a module under 64 KB of code is one codegen unit, compiled in
one process), a crash or an out-of-memory in one compile costs that module only, and
a caller's `__main__` is never re-imported (multiprocessing's spawn would).  The children
share the per-unit compile cache (`aot.codegen.unitcache`)."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from aot.errors import AotError


@dataclass(frozen=True)
class BatchResult:
    input: Path
    output: Path
    error: str | None = None  # the compile's error sentence; None: compiled

    @property
    def ok(self) -> bool:
        return self.error is None


def expand_inputs(inputs: Iterable[str | os.PathLike]) -> list[tuple[Path, Path]]:
    """(file, path relative to the output folder without suffix) for each input: a
    `.wasm` file as it is, a folder as every `.wasm` under it (keeping its layout)."""
    out: list[tuple[Path, Path]] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            found = sorted(path.rglob("*.wasm"))
            if not found:
                raise AotError(f"{path}: no .wasm file in this folder")
            out.extend((f, f.relative_to(path).with_suffix("")) for f in found)
        else:
            out.append((path, Path(path.stem)))
    names = [rel for _, rel in out]
    clashes = sorted({str(n) for n in names if names.count(n) > 1})
    if clashes:
        raise AotError(f"two inputs would write the same artifact: {', '.join(clashes)}.so "
                       "(compile them into different folders)")
    return out


def compile_many(inputs: Iterable[str | os.PathLike], out_dir: str | os.PathLike,
                 options=None, *, jobs: int | None = None, cache: bool = True,
                 progress: Callable[[BatchResult], None] | None = None) -> list[BatchResult]:
    """Compile every input (`.wasm` files, or folders of them) into `out_dir`, `jobs`
    at a time (default: the CPUs available); one `BatchResult` per input, in input
    order.  Failures are reported, not raised: the other modules still compile."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    pairs = [(src, out / rel.with_suffix(".so")) for src, rel in expand_inputs(inputs)]
    return compile_pairs(pairs, options, jobs=jobs, cache=cache, progress=progress)


def compile_pairs(pairs: list[tuple[Path, Path]], options=None, *, jobs: int | None = None,
                  cache: bool = True,
                  progress: Callable[[BatchResult], None] | None = None) -> list[BatchResult]:
    """Compile each (wasm, artifact) pair, `jobs` at a time; as `compile_many`."""
    from aot.codegen.options import CompileOptions
    from aot.codegen.pipeline import default_jobs

    options = options or CompileOptions()
    jobs = max(1, min(jobs or default_jobs(), len(pairs) or 1))
    job_options = json.dumps(dataclasses.asdict(options))

    def one(pair: tuple[Path, Path]) -> BatchResult:
        src, dst = pair
        dst.parent.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            [sys.executable, "-m", "aot.batch", str(src), str(dst), job_options,
             "1" if cache else "0"],
            capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
        error = None
        if done.returncode != 0:
            lines = [line for line in done.stderr.splitlines() if line.strip()]
            error = lines[-1] if lines else f"the compile exited with status {done.returncode}"
        result = BatchResult(src, dst, error)
        if progress:
            progress(result)
        return result

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(one, pairs))


def _main(argv: list[str]) -> int:
    """One compile of `compile_many`: INPUT OUTPUT OPTIONS-JSON CACHE(0|1)."""
    from aot.codegen.options import CompileOptions
    from aot.compiler import compile_file

    src, dst, options, cache = argv
    try:
        compile_file(src, dst, CompileOptions(**json.loads(options)), jobs=1,
                     cache=cache == "1")
    except (AotError, OSError, ValueError) as exc:
        print(f"{src}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
