"""Just enough of the wasm binary format to list a module's imports, exported function
signatures and function bodies, without an engine: the runner needs the imports to
propagate "not supported" skips across registered modules; the wasmtime backend needs
signatures its C API cannot report for v128, and the bodies to name traps like the spec."""

from __future__ import annotations

from dataclasses import dataclass

_VALTYPES = {0x7F: "i32", 0x7E: "i64", 0x7D: "f32", 0x7C: "f64", 0x7B: "v128",
             0x70: "funcref", 0x6F: "externref"}  # fmt: skip


@dataclass(frozen=True)
class Signature:
    params: tuple[str, ...]
    results: tuple[str, ...]


@dataclass(frozen=True)
class ModuleInfo:
    imports: tuple[tuple[str, str, int], ...]  # (module, name, kind: 0 func 1 table 2 mem 3 global)
    exported_funcs: dict[str, Signature]
    func_imports: int = 0
    bodies: tuple[tuple[int, int], ...] = ()  # byte range of each defined function's body


class _Reader:
    def __init__(self, data: bytes, pos: int = 0) -> None:
        self.data, self.pos = data, pos

    def byte(self) -> int:
        self.pos += 1
        return self.data[self.pos - 1]

    def u32(self) -> int:
        result = shift = 0
        while True:
            b = self.byte()
            result |= (b & 0x7F) << shift
            shift += 7
            if b < 0x80:
                return result

    def name(self) -> str:
        n = self.u32()
        self.pos += n
        return self.data[self.pos - n : self.pos].decode("utf-8", errors="replace")

    def valtypes(self) -> tuple[str, ...]:
        return tuple(_VALTYPES.get(self.byte(), "?") for _ in range(self.u32()))

    def limits(self) -> None:
        has_max = self.byte() & 1
        self.u32()
        if has_max:
            self.u32()


def module_info(wasm: bytes) -> ModuleInfo:
    """Imports and exported function signatures; raises on a malformed module."""
    r = _Reader(wasm, 8)
    types: list[Signature] = []
    funcs: list[int] = []  # type index per function, imports first
    imports: list[tuple[str, str, int]] = []
    exports: dict[str, Signature] = {}
    bodies: list[tuple[int, int]] = []
    while r.pos < len(wasm):
        section, size = r.byte(), r.u32()
        end = r.pos + size
        if section == 1:
            for _ in range(r.u32()):
                r.byte()  # 0x60
                types.append(Signature(r.valtypes(), r.valtypes()))
        elif section == 2:
            for _ in range(r.u32()):
                module, name, kind = r.name(), r.name(), r.byte()
                imports.append((module, name, kind))
                if kind == 0:
                    funcs.append(r.u32())
                elif kind == 1:
                    r.byte()
                    r.limits()
                elif kind == 2:
                    r.limits()
                else:
                    r.byte()
                    r.byte()
        elif section == 3:
            funcs.extend(r.u32() for _ in range(r.u32()))
        elif section == 7:
            for _ in range(r.u32()):
                name, kind, index = r.name(), r.byte(), r.u32()
                if kind == 0:
                    exports[name] = types[funcs[index]]
        elif section == 10:
            for _ in range(r.u32()):
                size = r.u32()
                bodies.append((r.pos, r.pos + size))
                r.pos += size
        r.pos = end
    func_imports = sum(kind == 0 for _, _, kind in imports)
    return ModuleInfo(tuple(imports), exports, func_imports, tuple(bodies))


def import_modules(wasm: bytes) -> set[str]:
    """The module names a binary imports from; empty if it cannot be read."""
    try:
        return {module for module, _, _ in module_info(wasm).imports}
    except (IndexError, UnicodeDecodeError, ValueError):
        return set()
