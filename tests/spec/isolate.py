"""Run a script in a child process, so that a command that hangs (say, recursion compiled
into a loop) or crashes the engine's native code fails that command instead of hanging
or killing the whole test session.

The child streams one outcome per command; the parent keeps the tally, so everything up to
the hang or crash is kept.  The command that did not finish fails, and the commands after
it are skipped as not run.  Children come from a forkserver: forking the pytest process
itself could copy thread pools (wasmtime's, LLVM's) in a broken state.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
import traceback
from multiprocessing.connection import Connection
from pathlib import Path

from .runner import Outcome, Result, ScriptRunner
from .suite import proposals_for
from .wast import Command, parse_file

DEFAULT_TIMEOUT = 60.0  # seconds per command


def command_timeout() -> float:
    return float(os.environ.get("AOT_SPEC_TIMEOUT") or DEFAULT_TIMEOUT)


def run_script(
    path: Path, engine: str, opt_level: int, timeout: float | None = None, isolate: bool = True
) -> tuple[list[Command], Result]:
    """Parse and run one script; returns its commands and the result."""
    commands = parse_file(path)
    if not isolate:
        from .engine import load_engine

        return commands, ScriptRunner(load_engine(engine), opt_level,
                                      proposals=proposals_for(path)).run(commands)
    return commands, _run_in_child(path, commands, engine, opt_level, timeout or command_timeout())


_context: multiprocessing.context.ForkServerContext | None = None


def _forkserver() -> multiprocessing.context.ForkServerContext:
    global _context
    if _context is None:
        _context = multiprocessing.get_context("forkserver")
        # Imported once in the server, so each child starts without importing anything.
        _context.set_forkserver_preload([f"{__package__}.runner", "aot", "aot.wat"])
    return _context


def _run_in_child(
    path: Path, commands: list[Command], engine: str, opt_level: int, timeout: float
) -> Result:
    ctx = _forkserver()
    receiver, sender = ctx.Pipe(duplex=False)
    child = ctx.Process(
        target=_child_main, args=(str(path), engine, opt_level, sender), daemon=True
    )
    child.start()
    sender.close()  # so that recv() sees EOF when the child dies
    result = Result()
    done = 0
    deadline = time.monotonic() + timeout
    stopped = ""
    try:
        while done < len(commands):
            if receiver.poll(min(1.0, max(0.0, deadline - time.monotonic()))):
                try:
                    message = receiver.recv()
                except EOFError:
                    stopped = _crash_reason(child)
                    break
                if isinstance(message, str):  # the child failed before running commands
                    raise RuntimeError(f"spec runner child process failed:\n{message}")
                index, outcome = message
                result.add(commands[index], outcome)
                done = index + 1
                deadline = time.monotonic() + timeout
            elif time.monotonic() > deadline:
                stopped = f"timed out after {timeout:g} s (AOT_SPEC_TIMEOUT)"
                break
    finally:
        if child.is_alive():
            child.kill()
        child.join()
        receiver.close()
    if done < len(commands):
        result.add(commands[done], Outcome("fail", stopped))
        skipped = Outcome("skip", f"not run: the script stopped at line {commands[done].line}")
        for cmd in commands[done + 1 :]:
            result.add(cmd, skipped)
    return result


def _crash_reason(child: multiprocessing.process.BaseProcess) -> str:
    child.join(5)
    code = child.exitcode
    if code is not None and code < 0:
        try:
            return f"engine crashed ({signal.Signals(-code).name})"
        except ValueError:
            pass
    return f"engine crashed (exit code {code})"


def _child_main(path: str, engine: str, opt_level: int, sender: Connection) -> None:
    try:
        from .engine import load_engine

        runner = ScriptRunner(load_engine(engine), opt_level,
                              proposals=proposals_for(Path(path)))
        commands = parse_file(path)
    except BaseException:
        sender.send(traceback.format_exc())
        return
    for index, cmd in enumerate(commands):
        sender.send((index, runner.run_command(cmd)))
