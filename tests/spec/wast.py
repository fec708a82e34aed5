"""The .wast script format: modules, actions and assertions, parsed into dataclasses.

`parse(source)` returns one `Command` per top-level form, each with its line number.
Text modules keep their raw source so any text-format parser can turn them into a binary.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .literals import FLOAT_FORMATS, INT_WIDTHS, LiteralError, parse_float, parse_int
from .sexpr import SList, Str, WastSyntaxError, read

# ---- values ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Num:
    """An exact value of a number type or v128, as its bit pattern."""

    type: str  # i32 i64 f32 f64 v128
    bits: int


@dataclass(frozen=True)
class NanPattern:
    """An expected `nan:canonical` or `nan:arithmetic` (of a scalar or one lane)."""

    type: str  # f32 or f64
    kind: str  # "canonical" or "arithmetic"


@dataclass(frozen=True)
class VecPattern:
    """An expected v128 whose float lanes include NaN patterns; lanes in memory order."""

    lane_type: str  # f32 or f64
    lanes: tuple[int | NanPattern, ...]

    type = "v128"


@dataclass(frozen=True)
class RefNull:
    type: str  # funcref or externref


@dataclass(frozen=True)
class RefExtern:
    index: int | None  # None (expected only): any non-null externref

    type = "externref"


@dataclass(frozen=True)
class RefFunc:
    index: int | None  # None: any non-null funcref

    type = "funcref"


Value = Num | RefNull | RefExtern | RefFunc
Expected = Num | NanPattern | VecPattern | RefNull | RefExtern | RefFunc

# ---- modules and actions --------------------------------------------------------------


@dataclass(frozen=True)
class ModuleDef:
    line: int
    name: str | None  # "$id" as written, or None
    form: str  # "text", "binary" or "quote"
    text: str = ""  # text: the whole "(module ...)" form; quote: the quoted module fields
    binary: bytes = b""  # binary: the module bytes

    def wat(self) -> str:
        """The module in the text format (for "text" and "quote" forms)."""
        return self.text if self.form == "text" else f"(module {self.text}\n)"


@dataclass(frozen=True)
class Invoke:
    module: str | None
    name: str
    args: tuple[Value, ...]


@dataclass(frozen=True)
class Get:
    module: str | None
    name: str


Action = Invoke | Get

# ---- commands -------------------------------------------------------------------------


@dataclass(frozen=True)
class Command:
    line: int
    keyword: str  # the form's head: "module", "assert_return", ...


@dataclass(frozen=True)
class ModuleCommand(Command):
    module: ModuleDef


@dataclass(frozen=True)
class Register(Command):
    name: str
    module: str | None


@dataclass(frozen=True)
class ActionCommand(Command):
    action: Action


@dataclass(frozen=True)
class AssertReturn(Command):
    action: Action
    expected: tuple[Expected, ...]


@dataclass(frozen=True)
class AssertTrap(Command):
    """assert_trap on an action, or on a module (whose instantiation must trap);
    also assert_exhaustion (always an action)."""

    target: Action | ModuleDef
    message: str


@dataclass(frozen=True)
class AssertModule(Command):
    """assert_invalid / assert_malformed / assert_unlinkable / assert_uninstantiable."""

    module: ModuleDef
    message: str


@dataclass(frozen=True)
class Unknown(Command):
    """A command this parser does not know (from a later proposal); the runner skips it."""


# ---- parsing --------------------------------------------------------------------------


class WastError(Exception):
    """A form that is not valid .wast."""


def parse_file(path: str | Path) -> list[Command]:
    return parse(Path(path).read_bytes().decode("utf-8", errors="surrogateescape"))


# Module fields written directly at top level form one inline module (inline-module.wast).
_MODULE_FIELDS = frozenset(
    ["type", "import", "func", "table", "memory", "global", "export", "start", "elem", "data"]
)


def parse(source: str) -> list[Command]:
    commands: list[Command] = []
    line, pos = 1, 0  # counted incrementally: counting from 0 per command is quadratic
    fields: list[tuple[SList, int]] = []  # module fields at top level, with their lines
    for form in read(source):
        line += source.count("\n", pos, form.start)
        pos = form.start
        if form and form[0] in _MODULE_FIELDS:
            fields.append((form, line))
            continue
        if fields:
            commands.append(_inline_module(fields, source))
            fields = []
        try:
            commands.append(_command(form, line, source))
        except (WastError, LiteralError, WastSyntaxError, IndexError, ValueError) as e:
            raise WastError(f"line {line}: {e}") from None
    if fields:
        commands.append(_inline_module(fields, source))
    return commands


def _inline_module(fields: list[tuple[SList, int]], source: str) -> ModuleCommand:
    line = fields[0][1]
    text = " ".join(source[form.start : form.end] for form, _ in fields)
    return ModuleCommand(line, "module", ModuleDef(line, None, "text", f"(module {text})"))


def _command(form: SList, line: int, source: str) -> Command:
    head = _atom(form[0])
    if head == "module":
        return ModuleCommand(line, head, _module(form, line, source))
    if head == "register":
        return Register(line, head, _str(form[1]).text, _id(form, 2))
    if head in ("invoke", "get"):
        return ActionCommand(line, head, _action(form))
    if head == "assert_return":
        expected = tuple(_value(v, expected=True) for v in form[2:])
        return AssertReturn(line, head, _action(form[1]), expected)
    if head in ("assert_trap", "assert_exhaustion"):
        target = form[1]
        if _atom(target[0]) == "module":
            return AssertTrap(line, head, _module(target, line, source), _str(form[2]).text)
        return AssertTrap(line, head, _action(target), _str(form[2]).text)
    if head in ("assert_invalid", "assert_malformed", "assert_unlinkable", "assert_uninstantiable"):
        return AssertModule(line, head, _module(form[1], line, source), _str(form[2]).text)
    return Unknown(line, head)


def _module(form: SList, line: int, source: str) -> ModuleDef:
    if _atom(form[0]) != "module":
        raise WastError(f"expected (module ...), got ({form[0]} ...)")
    name = _id(form, 1)
    rest = form[2:] if name else form[1:]
    kind = rest[0] if rest and not isinstance(rest[0], (Str, SList)) else None
    if kind == "binary":
        return ModuleDef(line, name, "binary", binary=b"".join(_str(s).bytes for s in rest[1:]))
    if kind == "quote":
        quoted = b"".join(_str(s).bytes for s in rest[1:])
        return ModuleDef(line, name, "quote", text=quoted.decode("utf-8", "surrogateescape"))
    return ModuleDef(line, name, "text", text=source[form.start : form.end])


def _action(form: SList) -> Action:
    head = _atom(form[0])
    module = _id(form, 1)
    i = 2 if module else 1
    name = _str(form[i]).text
    if head == "invoke":
        return Invoke(module, name, tuple(_value(a, expected=False) for a in form[i + 1 :]))
    if head == "get":
        return Get(module, name)
    raise WastError(f"unknown action {head}")


_NAN_PATTERNS = ("nan:canonical", "nan:arithmetic")
_REF_TYPES = {"func": "funcref", "extern": "externref"}


def _value(form: SList, expected: bool) -> Expected:
    if not isinstance(form, SList) or not form:
        raise WastError(f"expected a value, got {form!r}")
    op = form[0]
    n = len(form)
    if op == "i32.const" or op == "i64.const":
        return Num(op[:3], parse_int(form[1], INT_WIDTHS[op[:3]]))
    if op == "f32.const" or op == "f64.const":
        if expected and form[1] in _NAN_PATTERNS:
            return NanPattern(op[:3], form[1][4:])
        return Num(op[:3], parse_float(form[1], FLOAT_FORMATS[op[:3]]))
    if op == "v128.const":
        return _v128(form[1], form[2:], expected)
    if op == "ref.null":
        return RefNull(_REF_TYPES[form[1]])
    if op == "ref.extern":
        if n == 1 and not expected:
            raise WastError("(ref.extern) without index as an argument")
        return RefExtern(int(form[1], 0) if n > 1 else None)
    if op == "ref.func":
        return RefFunc(int(form[1]) if n > 1 and form[1].isdigit() else None)
    raise WastError(f"unknown value ({op} ...)")


_SHAPES = {"i8x16": 8, "i16x8": 16, "i32x4": 32, "i64x2": 64, "f32x4": 32, "f64x2": 64}


def _v128(shape: str, lanes: list[str], expected: bool) -> Num | VecPattern:
    width = _SHAPES[shape]
    lane_type = shape[:1] + str(width)
    count = 128 // width
    if len(lanes) != count:
        raise WastError(f"v128.const {shape} needs {count} lanes, got {len(lanes)}")
    values: list[int | NanPattern] = []
    for lane in lanes:
        if shape[0] == "i":
            values.append(parse_int(lane, width))
        elif expected and lane in ("nan:canonical", "nan:arithmetic"):
            values.append(NanPattern(lane_type, lane[4:]))
        else:
            values.append(parse_float(lane, FLOAT_FORMATS[lane_type]))
    if any(isinstance(v, NanPattern) for v in values):
        return VecPattern(lane_type, tuple(values))
    return Num("v128", sum(v << (i * width) for i, v in enumerate(values)))  # type: ignore[operator]


def _atom(node: object) -> str:
    if isinstance(node, SList | Str):
        raise WastError(f"expected a keyword, got {node!r}")
    return node  # type: ignore[return-value]


def _str(node: object) -> Str:
    if not isinstance(node, Str):
        raise WastError(f"expected a string, got {node!r}")
    return node


def _id(form: SList, i: int) -> str | None:
    """The `$name` at form[i], if there is one."""
    if i < len(form) and not isinstance(form[i], SList | Str) and form[i].startswith("$"):
        return form[i]
    return None
