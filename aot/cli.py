"""The `aot` command line: compile, run, inspect."""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
import warnings
from collections.abc import Sequence

from aot.errors import AotError, Exit, Trap
from aot.wasm.proposals import COMPONENT_VERSION

EXIT_OK = 0
EXIT_ERROR = 1  # bad input: invalid wasm, incompatible artifact, missing import, I/O
EXIT_USAGE = 2  # bad command line (argparse's convention)
EXIT_TRAP = 3  # the wasm code trapped

EPILOG = """\
exit status:
  0  success
  1  the input is invalid (malformed or invalid wasm, unusable artifact, missing import)
  2  the command line is wrong
  3  the WebAssembly code trapped (the trap message is printed on stderr)
"""

WASM_MAGIC = b"\0asm"


def _opt_level(text: str) -> int:
    level = text[1:] if text.startswith("O") else text
    if level not in ("0", "1", "2", "3"):
        raise argparse.ArgumentTypeError(f"optimization level must be 0..3, not {text!r}")
    return int(level)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, not {text!r}")
    return value


def _codegen_units(text: str) -> int | str:
    if text == "function":
        return text
    try:
        return _positive(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"expected a positive integer or 'function', not {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="aot",
        description="Ahead-of-time compiler for WebAssembly: compile a .wasm module to a "
        "native shared object, and run or inspect it.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)
    # Every subcommand's --help ends with the exit status table.
    add_command = functools.partial(sub.add_parser, epilog=EPILOG,
                                    formatter_class=argparse.RawDescriptionHelpFormatter)

    c = add_command(
        "compile", help="compile .wasm modules to artifacts (.so)",
        description="Compile WebAssembly modules to ELF shared objects that `aot run` "
        "and aot.load() can use without compiling again. With several inputs (or a folder, "
        "meaning every .wasm under it), -o names a folder that gets one artifact per "
        "module, compiled -j at a time; a module that fails is named on stderr, the others "
        "still compile, and the exit status is 1.",
    )
    c.add_argument("input", nargs="+",
                   help="the .wasm (or .wat) module(s), or folders of .wasm modules")
    c.add_argument("-o", "--output", help="artifact to write (default: INPUT with .so), or the "
                                          "folder for several inputs")
    c.add_argument("-O", dest="opt_level", type=_opt_level, default=2, metavar="N",
                   help="LLVM optimization level 0..3 (default 2), as -O0 .. -O3")
    c.add_argument("--target", default=None, metavar="TRIPLE",
                   help="cross-compile for this target triple, e.g. aarch64-linux-gnu "
                        "(default: this machine)")
    c.add_argument("--target-cpu", default=None, metavar="CPU",
                   help="CPU to compile for: an LLVM CPU name such as x86-64-v2 (the "
                        "portable default on x86-64), x86-64-v3, or 'native' for this "
                        "machine's CPU; the artifact refuses to load on a CPU without "
                        "the features it uses")
    c.add_argument("--bounds-checks", choices=("guard", "explicit"), default=None,
                   help="memory bounds checking: guard pages (default on x86-64) or "
                        "explicit compare-and-branch")
    c.add_argument("--fuel", action="store_true", help="meter execution with fuel")
    c.add_argument("--no-interrupts", action="store_true",
                   help="omit the loop-header interrupt checks")
    c.add_argument("--no-backtraces", action="store_true",
                   help="do not record wasm frames when a trap happens")
    c.add_argument("-j", "--jobs", type=_positive, default=None, metavar="N",
                   help="compile with N processes (default: the CPUs available); the "
                        "artifact is the same whatever N is")
    c.add_argument("--codegen-units", type=_codegen_units, default=None, metavar="N|function",
                   help="split the functions into N LLVM modules compiled in parallel, or "
                        "one per function (default: by code size, one for small modules, "
                        "one per function at -O0/-O1); fewer units let LLVM inline across "
                        "more functions, more keep all cores busy and make the unit cache "
                        "finer")
    c.add_argument("--embed-wasm", action="store_true",
                   help="keep the module's wasm in the artifact, so that aot.load(..., "
                        "rebuild=True) can recompile it where the artifact cannot run "
                        "(another aot version, a CPU without the features it uses)")
    c.add_argument("--no-cache", action="store_true",
                   help="do not reuse or keep the objects of codegen units (by default "
                        "they go to the cache, $AOT_CACHE_DIR or ~/.cache/aot, so that "
                        "rebuilding an edited module compiles only the units that changed)")
    c.add_argument("--time", action="store_true",
                   help="print where the compile's time went (decode, plan, IR, optimize, "
                        "emit, link) and its peak memory on stderr")
    c.add_argument("-q", "--quiet", action="store_true",
                   help="no progress bar (it shows only on a terminal, after a second)")

    r = add_command(
        "run", help="run a WASI program or command component, or call one export of a module",
        description="Instantiate FILE (a .wasm module, compiled on the fly, an artifact "
        "from `aot compile`, or a component). A component must be a WASI 0.2 command: its "
        "wasi:cli/run runs with ARGS, --env and --dir as a module's would, with WASI 0.2 "
        "served over the same host (stdio, clocks, random, filesystem). "
        "Without --invoke, FILE is a WASI command: its _start runs with "
        "ARGS as its arguments (after the program name; put them after `--` when they start "
        "with -), and aot exits with the program's exit code. With --invoke, the export NAME "
        "is called with ARGS, and each result is printed on its own line; integers may be "
        "decimal or 0x-hex, floats accept inf and nan. A module that imports "
        "wasi_snapshot_preview1 gets WASI either way.",
    )
    r.add_argument("file", help="a .wasm or .wat module, a compiled artifact, or a command component")
    r.add_argument("--invoke", metavar="NAME", help="the exported function to call")
    r.add_argument("args", nargs="*", help="the program's arguments, or NAME's arguments")
    r.add_argument("-O", dest="opt_level", type=_opt_level, default=2, metavar="N",
                   help="optimization level when FILE is .wasm (default 2)")
    r.add_argument("--dir", action="append", default=[], metavar="HOST[::GUEST]",
                   help="give the program the host directory HOST, named GUEST inside "
                        "(default: HOST); it reaches nothing outside (repeatable)")
    r.add_argument("--env", action="append", default=[], metavar="NAME[=VALUE]",
                   help="set an environment variable for the program; NAME alone passes "
                        "the host's value (repeatable)")

    k = add_command(
        "cache", help="list, inspect, clear or prune the artifact cache",
        description="The content-addressed cache aot.compile() keeps artifacts in: "
        "$AOT_CACHE_DIR, else $XDG_CACHE_HOME/aot, else ~/.cache/aot.",
    )
    where = argparse.ArgumentParser(add_help=False)
    where.add_argument("--dir", default=None, help="the cache directory (default: as above)")
    ksub = k.add_subparsers(dest="cache_command", metavar="ACTION", required=True)
    ksub.add_parser("ls", parents=[where], help="one line per entry: key, size, last used")
    ksub.add_parser("info", parents=[where], help="location, entry count and total size")
    ksub.add_parser("clear", parents=[where], help="delete every entry")
    kp = ksub.add_parser("prune", parents=[where],
                         help="delete least recently used entries down to a size")
    kp.add_argument("--max-size", required=True, metavar="SIZE",
                    help="the size to keep at most: bytes, or a number with K, M or G")

    i = add_command(
        "inspect", help="show what an artifact (or a component) contains",
        description="Print an artifact's sections, imports, exports, compiled functions "
        "and their unwind coverage; for a component binary, its imports and exports "
        "with their WIT types.",
    )
    i.add_argument("artifact")
    i.add_argument("--json", action="store_true", help="machine-readable output")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    # `aot run FILE [options] -- ARGS`: everything after `--` is the program's, verbatim.
    program_args: list[str] = []
    if argv[:1] == ["run"] and "--" in argv:
        split = argv.index("--")
        argv, program_args = argv[:split], argv[split + 1:]
    # `aot run FILE --invoke NAME 1 2`: argparse binds the `args` positional before it
    # sees --invoke, so the values after NAME arrive as extras.
    args, extra = parser.parse_known_args(argv)
    if extra:
        if args.command != "run" or any(e.startswith("--") for e in extra):
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        args.args = list(args.args) + extra
    if program_args:
        args.args = list(args.args) + program_args
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _print_warning
            return COMMANDS[args.command](args)
    except Trap as trap:
        print(f"aot: wasm trap: {trap}", file=sys.stderr)
        return EXIT_TRAP
    except AotError as err:
        print(f"aot: error: {err}", file=sys.stderr)
        return EXIT_ERROR
    except OSError as err:
        print(f"aot: error: {err}", file=sys.stderr)
        return EXIT_ERROR


def _print_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"aot: warning: {message}", file=sys.stderr)


def cmd_compile(args: argparse.Namespace) -> int:
    from aot.codegen.options import CompileOptions
    from aot.compiler import compile_file

    inputs = args.input
    batch = len(inputs) > 1 or os.path.isdir(inputs[0])
    if batch and not args.output:
        print("aot: error: several inputs need -o FOLDER for their artifacts", file=sys.stderr)
        return EXIT_USAGE
    source = inputs[0]
    output = args.output or os.path.splitext(source)[0] + ".so"
    if not batch and os.path.isdir(output):  # like cp: into the folder
        output = os.path.join(output, os.path.splitext(os.path.basename(source))[0] + ".so")
    try:
        options = CompileOptions(opt_level=args.opt_level, target=args.target,
                                 target_cpu=args.target_cpu,
                                 **({"bounds_checks": args.bounds_checks} if args.bounds_checks else {}),
                                 fuel=args.fuel, interrupts=not args.no_interrupts,
                                 backtraces=not args.no_backtraces,
                                 codegen_units=args.codegen_units,
                                 embed_wasm=args.embed_wasm)
    except ValueError as exc:
        raise AotError(str(exc)) from None
    if batch:
        return _compile_batch(inputs, args, options)
    from aot.codegen import CompileProfile

    profile = CompileProfile()
    with _progress_bar(enabled=not args.quiet and sys.stderr.isatty()) as progress:
        compile_file(source, output, options, jobs=args.jobs, progress=progress,
                     profile=profile, cache=not args.no_cache)
    if args.time:
        print(profile.format(), file=sys.stderr)
    return EXIT_OK


def _compile_batch(inputs: list[str], args: argparse.Namespace, options) -> int:
    from aot.batch import compile_many

    def report(result) -> None:
        if not result.ok:
            print(f"aot: error: {result.error}", file=sys.stderr)

    results = compile_many(inputs, args.output, options, jobs=args.jobs,
                           cache=not args.no_cache, progress=report)
    failed = sum(not r.ok for r in results)
    if not args.quiet or failed:
        print(f"aot: compiled {len(results) - failed} of {len(results)} modules into "
              f"{args.output}" + (f"; {failed} failed" if failed else ""), file=sys.stderr)
    return EXIT_ERROR if failed else EXIT_OK


# Seconds a compile runs before it shows a progress bar.
PROGRESS_DELAY = 1.0
# Seconds between redraws while no unit finishes (a large -O2 unit takes seconds): the
# elapsed time keeps moving, so the compile is seen alive.
PROGRESS_TICK = 0.25


class _progress_bar:  # noqa: N801 - used as a context manager, like open()
    """A tqdm bar over the module's functions, on stderr, shown once the compile has
    run PROGRESS_DELAY seconds, whether or not a unit has finished by then; nothing
    when disabled.  Updates come from the compile's threads, redraws from a ticker."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.bar = None
        self._state = (0, 0, 0, 0, "decode")

    def __enter__(self):
        if not self.enabled:
            return None
        import threading

        self._lock = threading.Lock()
        self._done = threading.Event()
        if PROGRESS_DELAY <= 0:
            self._show()
        self._ticker = threading.Thread(target=self._tick, name="aot-progress", daemon=True)
        self._ticker.start()
        return self.update

    def update(self, units: int, n_units: int, funcs: int, n_funcs: int, phase: str) -> None:
        with self._lock:
            self._state = (units, n_units, funcs, n_funcs, phase)
            if self.bar is not None:
                self._draw()

    def _tick(self) -> None:
        if self.bar is None:
            if self._done.wait(PROGRESS_DELAY):
                return
            self._show()
        while not self._done.wait(PROGRESS_TICK):
            with self._lock:
                self.bar.refresh()

    def _show(self) -> None:
        from tqdm import tqdm

        with self._lock:
            self.bar = tqdm(total=self._state[3] or None, initial=self._state[2],
                            desc=self._describe(), unit="fn", leave=False, file=sys.stderr)

    def _describe(self) -> str:
        units, n_units, _funcs, _n_funcs, phase = self._state
        return f"{phase} ({units}/{n_units} units)" if n_units else phase

    def _draw(self) -> None:
        bar, n_funcs = self.bar, self._state[3]
        if n_funcs and bar.total != n_funcs:
            bar.total = n_funcs
        bar.set_description_str(self._describe(), refresh=False)
        bar.update(self._state[2] - bar.n)  # redraws at most every tqdm `mininterval`

    def __exit__(self, *exc) -> None:
        if self.enabled:
            self._done.set()
            self._ticker.join()
        if self.bar is not None:
            self.bar.close()


def _load_any(path: str, opt_level: int):
    import aot

    with open(path, "rb") as f:
        magic = f.read(4)
    if magic == WASM_MAGIC or path.endswith(".wat"):
        return aot.compile(path, opt_level=opt_level)
    if magic != b"\x7fELF":
        from aot.wat import is_text

        with open(path, "rb") as f:
            if is_text(f.read()):
                return aot.compile(path, opt_level=opt_level)
        raise AotError(f"{path}: neither a WebAssembly module (binary or text) nor an aot "
                       "artifact")
    return aot.load(path)


def _parse_arg(text: str, t, index: int):
    from aot.wasm.types import ValType

    try:
        if t in (ValType.I32, ValType.I64):
            return int(text, 0)
        if t in (ValType.F32, ValType.F64):
            return float(text)
    except ValueError:
        raise AotError(f"argument {index}: {text!r} is not a valid {t}") from None
    raise AotError(f"argument {index}: {t} arguments cannot be given on the command line")


def _wasi_config(args: argparse.Namespace):
    from aot.wasi import WasiConfig

    env = []
    for item in args.env:
        name, eq, value = item.partition("=")
        if not name:
            raise AotError(f"--env {item!r}: the variable name is empty")
        if eq:
            env.append((name, value))
        elif name in os.environ:
            env.append((name, os.environ[name]))
    preopens = []
    for item in args.dir:
        host, sep, guest = item.partition("::")
        if not host or (sep and not guest):
            raise AotError(f"--dir {item!r}: expected HOST or HOST::GUEST")
        preopens.append((host, guest or host))
    program_args = [] if args.invoke else list(args.args)
    return WasiConfig(args=[args.file, *program_args], env=env, preopens=preopens)


def _is_component(path: str) -> bool:
    """A component binary, or a component's artifact (`aot compile comp.wasm`)."""
    try:
        with open(path, "rb") as f:
            head = f.read(8)
            if head[:4] == b"\x7fELF":
                from aot.component.artifact import is_component_artifact

                f.seek(0)
                return is_component_artifact(f.read())
    except OSError:
        return False  # _load_any says why it cannot be read
    return head[:4] == WASM_MAGIC and head[4:8] == COMPONENT_VERSION


def _component_run(component) -> str:
    """The name of the component's exported `wasi:cli/run` instance."""
    for name, _extern in component.exports:
        if name.startswith("wasi:cli/run@0.2."):
            return name
    names = ", ".join(name for name, _ in component.exports) or "none"
    raise AotError(f"the component exports no wasi:cli/run@0.2 instance (exports: {names}): "
                   "it is not a WASI command")


def _run_component(args: argparse.Namespace) -> int:
    """A WASI command component: WASI 0.2 from the same options as a module's preview 1,
    then `wasi:cli/run.run`."""
    from aot.component import Component, Err, Linker
    from aot.component.wasi import add_to_linker, imported_versions
    from aot.errors import NotSupportedError

    if args.invoke is not None:
        raise NotSupportedError("aot run --invoke on a component (only its wasi:cli/run "
                                "runs)")
    component = Component(args.file, opt_level=args.opt_level)
    run_name = _component_run(component)
    linker = Linker()
    with add_to_linker(linker, _wasi_config(args), versions=imported_versions(component)):
        try:
            instance = linker.instantiate(component)
            run = instance[run_name].get("run")
            if run is None:
                raise AotError(f"the component's {run_name} instance has no run function")
            sys.stdout.flush()  # before anything the component writes to fd 1 itself
            result = run()
        except Exit as exc:  # wasi:cli/exit
            return _exit_status(exc.code)
    # run returning error is the program's own failure (main returning non-zero without
    # calling exit): status 1 and no message, as wasmtime does.
    return EXIT_ERROR if isinstance(result, Err) else EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    from aot.loader.func import Func
    from aot.wasi import MODULE, WasiCtx

    if _is_component(args.file):
        return _run_component(args)
    module = _load_any(args.file, args.opt_level)
    uses_wasi = any(i.module == MODULE for i in module.imports)
    other = [f"{i.module}::{i.name}" for i in module.imports if i.module != MODULE]
    if other:
        raise AotError(f"the module needs imports that `aot run` cannot provide: {', '.join(other)}")
    if args.invoke is None and not uses_wasi and "_start" not in {e.name for e in module.exports}:
        raise AotError("the module is not a WASI command (no _start export): "
                       "give --invoke NAME to call one of its exports")
    if (args.dir or args.env) and not uses_wasi:
        raise AotError("--dir and --env need a module that imports wasi_snapshot_preview1")
    with WasiCtx(_wasi_config(args)) as wasi:
        try:
            instance = wasi.instantiate(module)
        except Exit as exc:  # proc_exit in the start function
            return _exit_status(exc.code)
        if args.invoke is None:
            return _exit_status(wasi.start(instance))
        exports = instance.exports
        if args.invoke not in exports or not isinstance(exports[args.invoke], Func):
            funcs = [n for n in exports if isinstance(exports[n], Func)]
            raise AotError(f"no exported function {args.invoke!r} (functions: {', '.join(funcs) or 'none'})")
        func = exports[args.invoke]
        params = func.type.params
        if len(args.args) != len(params):
            raise AotError(f"{args.invoke} takes {len(params)} arguments "
                           f"({' '.join(map(str, params)) or 'none'}), {len(args.args)} given")
        values = [_parse_arg(a, t, i) for i, (a, t) in enumerate(zip(args.args, params))]
        sys.stdout.flush()  # before anything the wasm writes to fd 1 itself
        try:
            result = func(*values)
        except (OverflowError, TypeError) as exc:  # argument checks of the call path
            raise AotError(str(exc)) from None
        except Exit as exc:
            return _exit_status(exc.code)
    results = () if result is None else result if isinstance(result, tuple) else (result,)
    for r in results:
        print(r)
    return EXIT_OK


def _exit_status(code: int) -> int:
    """proc_exit's code as a process exit status: one the OS cannot carry (past 255)
    becomes 1 rather than wrapping around, possibly to 0."""
    return code if 0 <= code <= 255 else EXIT_ERROR


def _inspect_component(args: argparse.Namespace, data: bytes) -> int:
    """A component binary: its WIT-level imports and exports."""
    from aot.component.binary import decode_component, describe

    model = decode_component(data)
    if args.json:
        print(json.dumps({"file": args.artifact, "component": True,
                          "imports": [{"name": i.name, "sort": str(i.sort)} for i in model.imports],
                          "exports": [{"name": e.name, "sort": str(e.sort)} for e in model.exports],
                          "core_modules": len(model.core_modules)}, indent=2))
        return EXIT_OK
    print(f"{args.artifact}: component ({len(model.core_modules)} core modules)")
    print(describe(model), end="")
    return EXIT_OK


def cmd_inspect(args: argparse.Namespace) -> int:
    """Everything from the file itself (pyelftools and the trailer): an artifact for
    another machine can be inspected too."""
    import array
    import dataclasses

    from aot.abi.fingerprint import TrailerError, read_trailer
    from aot.abi.metadata import LazyNames, decode_metadata
    from aot.elf import ArtifactFile

    try:
        with open(args.artifact, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise AotError(f"{args.artifact}: cannot read: {exc.strerror}") from None
    if data[4:8] == COMPONENT_VERSION:
        return _inspect_component(args, data)
    if data[:4] == b"\x7fELF":
        from aot.component.artifact import is_component_artifact, read_component_artifact

        if is_component_artifact(data):
            component, cores = read_component_artifact(data)  # type: ignore[misc]
            print(f"{args.artifact}: aot component artifact, {len(cores)} compiled core "
                  "module(s)", file=sys.stderr if args.json else sys.stdout)
            return _inspect_component(args, component)
    try:
        _, fp = read_trailer(data)
    except TrailerError as exc:
        raise AotError(f"{args.artifact}: {exc}") from None
    with ArtifactFile(args.artifact) as elf:
        func_types = array.array("I", elf.symbol_bytes("aot_func_types") or b"")
        names = elf.symbol_bytes("aot_names") or b"{}"
        try:
            desc = decode_metadata(elf.symbol_bytes("aot_metadata") or b"", func_types,
                                   LazyNames(lambda: names))
        except (ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
            raise AotError(f"{args.artifact}: corrupt module description ({exc})") from None
        missing = {f.name for f in elf.functions_without_unwind()}
        info = {
            "file": args.artifact,
            "machine": elf.machine,
            "fingerprint": {**dataclasses.asdict(fp), "features": list(fp.features)},
            "sections": [{"name": s.name, "type": s.type, "size": s.size} for s in elf.sections],
            "imports": [{"module": i.module, "name": i.name, "kind": str(i.kind), "type": str(i.type)}
                        for i in desc.imports],
            "exports": [{"name": e.name, "kind": str(e.kind), "index": e.index} for e in desc.exports],
            "functions": [{"name": f.name, "address": f.address, "size": f.size,
                           "unwind": f.name not in missing} for f in elf.functions],
            "stack_maps": elf.stack_maps(),
        }
    if args.json:
        print(json.dumps(info, indent=2))
        return EXIT_OK
    fpi = info["fingerprint"]
    print(f"{info['file']}: {info['machine']} aot artifact")
    print(f"compiled by aot {fpi['aot_version']} with LLVM {fpi['llvm_version']} for {fpi['triple']} "
          f"({fpi['cpu']}{', ' + ' '.join(fpi['features']) if fpi['features'] else ''})")
    print("options: " + ", ".join(f"{k}={v}" for k, v in sorted(fpi["options"].items())))
    print("sections:")
    for s in info["sections"]:
        print(f"  {s['name']:<24} {s['type']:<16} {s['size']:>8}")
    print("imports:" if info["imports"] else "imports: none")
    for i in info["imports"]:
        print(f"  {i['module']}::{i['name']}  {i['type']}")
    print("exports:" if info["exports"] else "exports: none")
    for e in info["exports"]:
        print(f"  {e['name']}  ({e['kind']} {e['index']})")
    covered = sum(f["unwind"] for f in info["functions"])
    print(f"functions: {len(info['functions'])} ({covered} with .eh_frame unwind info)")
    for f in info["functions"]:
        print(f"  0x{f['address']:06x} {f['size']:>7}  {f['name']}{'' if f['unwind'] else '  (no unwind info)'}")
    maps = info["stack_maps"]
    if maps is None:
        print("stack maps: none (the module has no externref: no GC references to find)")
    else:
        print(f"stack maps: {maps['records']} call sites in {maps['functions']} functions, "
              f"{maps['slots']} reference slots recorded (.llvm_stackmaps)")
    return EXIT_OK


def cmd_cache(args: argparse.Namespace) -> int:
    import time

    from aot.cache import Cache, parse_size

    cache = Cache(args.dir)
    action = args.cache_command
    if action == "ls":
        for e in cache.entries():
            used = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(e.last_used))
            print(f"{e.key}  {e.kind:<8}  {e.size:>10}  {used}")
    elif action == "info":
        entries = list(cache.entries())
        kinds = {kind: sum(e.kind == kind for e in entries) for kind in ("artifact", "unit", "mark")}
        print(f"location: {cache.root}")
        print(f"entries:  {len(entries)} ({kinds['artifact']} artifacts, {kinds['unit']} codegen "
              f"units, {kinds['mark']} module marks)")
        print(f"size:     {sum(e.size for e in entries)} bytes")
        if cache.remote is not None:
            state = "answering" if cache.remote.ping() else "not answering"
            print(f"shared:   {cache.remote.url} ({state})")
    elif action == "clear":
        print(f"removed {cache.clear()} entries from {cache.root}")
    else:
        try:
            limit = parse_size(args.max_size)
        except ValueError as exc:
            raise AotError(str(exc)) from None
        removed = cache.prune(limit)
        print(f"removed {len(removed)} entries ({sum(e.size for e in removed)} bytes); "
              f"{cache.total_size()} bytes remain")
    return EXIT_OK


COMMANDS = {"compile": cmd_compile, "run": cmd_run, "inspect": cmd_inspect, "cache": cmd_cache}

if __name__ == "__main__":
    sys.exit(main())
