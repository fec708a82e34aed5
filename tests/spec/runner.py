"""Runs a parsed .wast script against aot's public API (or an engine with the same API).

Every command ends in exactly one of three buckets: passed, failed (with a reason) or
skipped (with a reason).  A module aot reports as not supported skips every later command
that needs it, including modules importing from a name it was registered under.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import wasmtime

from .binary import import_modules
from .spectest import spectest_module
from .values import Externs, matches, show_expected, show_raw, to_raw
from .wast import (
    Action,
    ActionCommand,
    AssertModule,
    AssertReturn,
    AssertTrap,
    Command,
    Get,
    Invoke,
    ModuleCommand,
    ModuleDef,
    Register,
)

TEXT_FORMAT_REASON = "text format (module quote): the reference backend's wat2wasm is not tested"
MAX_LISTED = 20  # failures / message mismatches kept per file


class Skip(Exception):
    """The command cannot be tested; str() is the reason."""


class Fail(Exception):
    """The command failed; str() is the reason."""


@dataclass(frozen=True)
class Outcome:
    """How one command ended: "pass", "fail" or "skip", with the reason for the latter two.
    `mismatch` is the engine's message when it rejected a module with other words than the
    spec's (still a pass)."""

    status: str
    reason: str = ""
    mismatch: str | None = None


PASS = Outcome("pass")


@dataclass
class Result:
    """The outcome of one script."""

    passed: int = 0
    failed: int = 0
    skipped: int = 0
    skip_reasons: Counter[str] = field(default_factory=Counter)
    failures: list[dict[str, Any]] = field(default_factory=list)
    message_mismatch: int = 0
    mismatches: list[dict[str, Any]] = field(default_factory=list)

    def add(self, cmd: Command, outcome: Outcome) -> None:
        if outcome.status == "pass":
            self.passed += 1
        elif outcome.status == "skip":
            self.skipped += 1
            self.skip_reasons[outcome.reason] += 1
        else:
            self.failed += 1
            self.failures.append(
                {"line": cmd.line, "command": describe(cmd), "reason": outcome.reason}
            )
        if outcome.mismatch is not None:
            self.message_mismatch += 1
            expected = getattr(cmd, "message", "")
            self.mismatches.append(
                {
                    "line": cmd.line,
                    "command": cmd.keyword,
                    "expected": expected,
                    "actual": outcome.mismatch,
                }
            )

    def to_json(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "failed": self.failed,
            "skipped": self.skipped,
            "skip_reasons": dict(self.skip_reasons.most_common()),
            "failures": self.failures[:MAX_LISTED],
            "message_mismatch": self.message_mismatch,
            "message_mismatches": self.mismatches[:MAX_LISTED],
        }


@dataclass(frozen=True)
class Unavailable:
    """A module that could not be compiled or instantiated; commands using it end the same
    way (skipped if it was not supported, failed otherwise)."""

    line: int
    outcome: Skip | Fail

    def raise_(self) -> None:
        if isinstance(self.outcome, Skip):
            raise Skip(str(self.outcome))
        raise Fail(f"needs the module of line {self.line}, which failed: {self.outcome}")


def describe(cmd: Command) -> str:
    """A short human description of a command, for reports."""
    target = getattr(cmd, "action", None) or getattr(cmd, "target", None)
    if isinstance(target, Invoke | Get):
        return (
            f'{cmd.keyword} ({"invoke" if isinstance(target, Invoke) else "get"} "{target.name}")'
        )
    return cmd.keyword


def spec_units(value: str, opt_level: int) -> int | str:
    """The `codegen_units` option for AOT_SPEC_UNITS: a count, "function", or "split": the
    kind of split an automatic compile of a large module makes at this level (one unit
    per function at -O0/-O1, by code size above), forced on every module, in 2 units
    at least."""
    from aot.codegen.units import PER_FUNCTION, function_grain

    if value == "split":
        return PER_FUNCTION if function_grain(opt_level) else 2
    return value if value == PER_FUNCTION else int(value)


class ScriptRunner:
    """Runs commands on `eng`.  Text modules are converted by `wat2wasm`: by default aot's
    own parser (`aot.wat2wasm`) when the engine is aot, which then also has to reject the
    malformed `module quote` texts; wasmtime's for the reference backend, which skips
    those (they would test wasm-tools, not the runner).  `proposals=False` for the core
    scripts (`suite.proposals_for`)."""

    def __init__(self, eng: ModuleType, opt_level: int = 2,
                 wat2wasm: Callable[[str], bytes] | None = None,
                 proposals: bool = True) -> None:
        self.eng = eng
        self.opt_level = opt_level
        if wat2wasm is None and eng.__name__ == "aot":
            wat2wasm = eng.wat2wasm
        self.wat2wasm = wat2wasm
        # AOT_SPEC_UNITS: every module split into codegen units (aot only), so the suite
        # covers calls, wrappers and data across units even for tiny modules.
        units = os.environ.get("AOT_SPEC_UNITS")
        self.compile_options = ({"codegen_units": spec_units(units, opt_level)}
                                if units and eng.__name__ == "aot" else {})
        if eng.__name__ == "aot":
            # Off for the core scripts (`suite.proposals_for`).
            self.compile_options["multi_memory"] = proposals
            self.compile_options["memory64"] = proposals
            self.compile_options["threads"] = proposals
        self.store = eng.Store()  # one store per script: instances share state through it
        self.externs = Externs()
        self.registry: dict[str, Any] = {"spectest": spectest_module(eng)}
        self.poisoned: dict[str, Unavailable] = {}  # registered names of unavailable modules
        self.named: dict[str, Any] = {}
        self.current: Any = None
        self.result = Result()

    def run(self, commands: list[Command]) -> Result:
        for cmd in commands:
            self.result.add(cmd, self.run_command(cmd))
        return self.result

    def run_command(self, cmd: Command) -> Outcome:
        try:
            mismatch = self._dispatch(cmd)
        except Exception as e:
            outcome = self._outcome(e)
            return Outcome("skip" if isinstance(outcome, Skip) else "fail", str(outcome))
        return PASS if mismatch is None else Outcome("pass", mismatch=mismatch)

    def _dispatch(self, cmd: Command) -> str | None:
        """Run a command; raises Skip / Fail (or an engine error) unless it passed.  Returns
        the engine's message for a rejection worded unlike the spec, else None."""
        if isinstance(cmd, ModuleCommand):
            self._module(cmd.module)
        elif isinstance(cmd, Register):
            self._register(cmd)
        elif isinstance(cmd, ActionCommand):
            self._act(cmd.action)
        elif isinstance(cmd, AssertReturn):
            self._assert_return(cmd)
        elif isinstance(cmd, AssertTrap) and isinstance(cmd.target, ModuleDef):
            self._assert_uninstantiable(cmd.target, cmd.message)
        elif isinstance(cmd, AssertTrap):
            self._assert_trap(cmd.target, cmd.message)
        elif isinstance(cmd, AssertModule) and cmd.keyword == "assert_unlinkable":
            return self._assert_unlinkable(cmd)
        elif isinstance(cmd, AssertModule) and cmd.keyword == "assert_uninstantiable":
            self._assert_uninstantiable(cmd.module, cmd.message)
        elif isinstance(cmd, AssertModule):  # assert_invalid, assert_malformed
            return self._assert_rejected(cmd)
        else:
            raise Skip(f"unknown command {cmd.keyword}")
        return None

    # ---- modules ----------------------------------------------------------------------

    def _module(self, mod: ModuleDef) -> None:
        try:
            instance = self._compile(mod).instantiate(self.registry, store=self.store)
        except Exception as e:
            outcome = self._outcome(e)
            self._define(mod.name, Unavailable(mod.line, outcome))
            raise outcome from None
        self._define(mod.name, instance)

    def _define(self, name: str | None, instance: Any) -> None:
        self.current = instance
        if name:
            self.named[name] = instance

    def _register(self, cmd: Register) -> None:
        instance = self._lookup(cmd.module)
        if isinstance(instance, Unavailable):
            self.poisoned[cmd.name] = instance
            instance.raise_()
        self.registry[cmd.name] = instance.exports
        self.poisoned.pop(cmd.name, None)

    def _lookup(self, name: str | None) -> Any:
        if name is None:
            if self.current is None:
                raise Fail("no module defined yet")
            return self.current
        if name not in self.named:
            raise Fail(f"unknown module {name}")
        return self.named[name]

    def _binary(self, mod: ModuleDef) -> bytes:
        """The module's binary.  With aot's parser, a text it refuses raises its
        CompileError (a quote module's text may itself be `(module ...)` or fields)."""
        if mod.form == "binary":
            return mod.binary
        if self.wat2wasm is not None:
            return self.wat2wasm(mod.text)
        try:
            return wasmtime.wat2wasm(_escape_confusables(mod.wat()))
        except wasmtime.WasmtimeError as e:
            raise Fail(f"wat2wasm cannot convert the module: {_first_line(e)}") from None

    def _compile(self, mod: ModuleDef) -> Any:
        wasm = self._binary(mod)
        for name in import_modules(wasm):
            if name in self.poisoned:
                self.poisoned[name].raise_()
        return self.eng.compile(wasm, opt_level=self.opt_level, **self.compile_options)

    def _outcome(self, e: Exception) -> Skip | Fail:
        """What an exception from setting up a module or running an action means."""
        eng = self.eng
        if isinstance(e, Skip | Fail):
            return e
        if isinstance(e, eng.NotSupportedError):
            return Skip(f"not supported: {e.feature}")
        if isinstance(e, eng.CompileError):
            return Fail(f"compile error: {_first_line(e)}")
        if isinstance(e, eng.LinkError):
            return Fail(f"link error: {_first_line(e)}")
        if isinstance(e, eng.Trap):
            return Fail(f"unexpected trap: {_first_line(e)}")
        return Fail(f"{type(e).__name__}: {_first_line(e)}")

    # ---- actions ----------------------------------------------------------------------

    def _act(self, action: Action) -> tuple[list[Any], list[str] | None]:
        """Run an action: its raw results and their types (None when not known)."""
        instance = self._lookup(action.module)
        if isinstance(instance, Unavailable):
            instance.raise_()
        if action.name not in instance.exports:
            raise Fail(f"no export {action.name!r}")
        export = instance.exports[action.name]
        if isinstance(action, Get):
            return [export.raw], None
        args = [to_raw(a, self.externs) for a in action.args]
        results = export.call_raw(args)
        return list(results), [str(t) for t in export.type.results]

    def _assert_return(self, cmd: AssertReturn) -> None:
        results, types = self._act(cmd.action)
        if len(results) != len(cmd.expected):
            raise Fail(f"{len(results)} results, expected {len(cmd.expected)}")
        for i, (want, got) in enumerate(zip(cmd.expected, results)):
            got_type = types[i] if types else want.type
            if got_type != want.type or not matches(want, got, self.externs):
                raise Fail(
                    f"result {i}: got {show_raw(got_type, got)}, expected {show_expected(want)}"
                )

    def _assert_trap(self, action: Action, message: str) -> None:
        try:
            results, types = self._act(action)
        except self.eng.Trap as e:
            _check_trap_message(e, message)
            return
        shown = ", ".join(show_raw(t, r) for t, r in zip(types or ["?"] * len(results), results))
        raise Fail(f"returned [{shown}] instead of trapping ({message!r})")

    # ---- module assertions ------------------------------------------------------------

    def _assert_rejected(self, cmd: AssertModule) -> str | None:
        """assert_invalid / assert_malformed: aot.compile must raise CompileError; a
        malformed text must already be refused by the text parser (or else by aot)."""
        mod = cmd.module
        if mod.form == "quote" and cmd.keyword == "assert_malformed" and self.wat2wasm is None:
            raise Skip(TEXT_FORMAT_REASON)
        try:
            wasm = self._binary(mod)
        except Fail:
            if cmd.keyword == "assert_malformed":
                raise Skip(TEXT_FORMAT_REASON) from None
            raise
        except self.eng.NotSupportedError as e:
            raise Skip(f"not supported: {e.feature}") from None
        except self.eng.CompileError as e:
            if cmd.keyword != "assert_malformed":
                raise Fail(f"the text parser refused an {cmd.keyword} module: "
                           f"{_first_line(e)}") from None
            return _mismatch(cmd.message, e)
        try:
            self.eng.compile(wasm, opt_level=self.opt_level, **self.compile_options)
        except self.eng.NotSupportedError as e:
            # Rejected, but as unsupported: whether it detects the error is not tested.
            raise Skip(f"not supported: {e.feature}") from None
        except self.eng.CompileError as e:
            return _mismatch(cmd.message, e)
        raise Fail(f"compiled without error (expected {cmd.message!r})")

    def _assert_unlinkable(self, cmd: AssertModule) -> str | None:
        module = self._compile(cmd.module)
        try:
            module.instantiate(self.registry, store=self.store)
        except self.eng.LinkError as e:
            return _mismatch(cmd.message, e)
        raise Fail(f"instantiated without a link error (expected {cmd.message!r})")

    def _assert_uninstantiable(self, mod: ModuleDef, message: str) -> None:
        """assert_trap on a module / assert_uninstantiable: instantiation must trap."""
        module = self._compile(mod)
        try:
            module.instantiate(self.registry, store=self.store)
        except self.eng.Trap as e:
            _check_trap_message(e, message)
            return
        raise Fail(f"instantiated without trapping (expected {message!r})")


def _mismatch(expected: str, error: Exception) -> str | None:
    """A rejection with other words than the spec's still passes, but is listed."""
    return None if expected in str(error) else _first_line(error)


# The reference interpreter appends the element index to this message; engines need not.
_SPEC_ONLY_DETAIL = re.compile(r"^(uninitialized element) \d+$")


def _check_trap_message(trap: Exception, expected: str) -> None:
    actual = str(trap)
    if expected in actual or _SPEC_ONLY_DETAIL.sub(r"\1", expected) in actual:
        return
    raise Fail(f"trapped with {_first_line(trap)!r}, expected {expected!r}")


# wat2wasm refuses raw bidirectional-control characters (a lint against misleading source);
# names.wast has them in strings, where a \u{...} escape means the same.
_CONFUSABLE = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u206f]")


def _escape_confusables(text: str) -> str:
    return _CONFUSABLE.sub(lambda m: f"\\u{{{ord(m.group()):x}}}", text)


def _first_line(e: Exception) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__
