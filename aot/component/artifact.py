"""A compiled component in one file: an ELF shared object whose read-only data holds the
component binary (its definitions, types and instantiation graph) and the artifact of
each of its core modules, in the order `core_modules` lists them.

Loading it decodes the component (no code generation) and loads each core artifact as
`aot.load(bytes)` does, with the same checks (checksum, fingerprint, CPU features): a
component artifact is as trusted, and as portable, as the core artifacts inside it."""

from __future__ import annotations

import json
from collections.abc import Callable

from aot.component import model as m
from aot.errors import ArtifactError

COMPONENT_SYMBOL = "aot_component"
INDEX_SYMBOL = "aot_component_index"
CORE_SYMBOL = "aot_component_core_{}"
FORMAT = 1
_EM_X86_64 = 62


def core_modules(comp: m.Component) -> list[m.CoreModule]:
    """Every core module of `comp` and its nested components, depth first: the order of
    the core artifacts in a component artifact."""
    found: list[m.CoreModule] = []
    seen: set[int] = set()

    def walk(c: m.Component) -> None:
        for mod in c.core_modules:
            if isinstance(mod, m.CoreModule) and id(mod) not in seen:
                seen.add(id(mod))
                found.append(mod)
        for nested in c.components:
            if isinstance(nested, m.Component):
                walk(nested)

    walk(comp)
    return found


def write_component_artifact(component: bytes, core_artifacts: list[bytes]) -> bytes:
    """The ELF shared object holding `component` and its core modules' artifacts."""
    from aot.codegen.elfwriter.merge import Blob, blob_object, merge_objects
    from aot.codegen.elfwriter.writer import _Writer

    index = json.dumps({"format": FORMAT, "core_modules": len(core_artifacts)}).encode()
    blobs = [Blob(INDEX_SYMBOL, index, 8), Blob(COMPONENT_SYMBOL, component, 8)]
    blobs += [Blob(CORE_SYMBOL.format(k), a, 16) for k, a in enumerate(core_artifacts)]
    # The machine of the code inside (a component of no core module: x86-64's).
    machine, osabi, flags = _header(core_artifacts[0]) if core_artifacts else (_EM_X86_64, 0, 0)
    return _Writer(merge_objects([blob_object(machine, osabi, flags, blobs)]), ()).write()


def _header(elf: bytes) -> tuple[int, int, int]:
    return (int.from_bytes(elf[18:20], "little"), elf[7], int.from_bytes(elf[48:52], "little"))


def is_component_artifact(data: bytes) -> bool:
    return data[:4] == b"\x7fELF" and read_component_artifact(data, check=False) is not None


def read_component_artifact(data: bytes, check: bool = True) -> tuple[bytes, list[bytes]] | None:
    """(component binary, core artifacts) of a component artifact; None when `data` is
    an ELF file without the component symbols (`check=False`), else ArtifactError."""
    from aot.elf import ArtifactFile

    try:
        with ArtifactFile("<component artifact>", data=bytes(data)) as elf:
            index = elf.symbol_bytes(INDEX_SYMBOL)
            if index is None:
                if check:
                    raise ArtifactError("not an aot component artifact (no component index)")
                return None
            doc = json.loads(index)
            if doc.get("format") != FORMAT:
                raise ArtifactError(f"component artifact format {doc.get('format')!r}, "
                                    f"this aot reads {FORMAT}")
            component = elf.symbol_bytes(COMPONENT_SYMBOL)
            cores = [elf.symbol_bytes(CORE_SYMBOL.format(k)) for k in range(doc["core_modules"])]
    except ArtifactError:
        if not check:
            return None
        raise
    except Exception as exc:  # noqa: BLE001 - pyelftools raises many kinds on damaged input
        if not check:
            return None
        raise ArtifactError(f"damaged component artifact ({type(exc).__name__}: {exc})") from None
    if component is None or any(c is None for c in cores):
        raise ArtifactError("damaged component artifact: a section is missing")
    return component, cores  # type: ignore[return-value]


def compile_component_artifact(data: bytes, compile_core: Callable[[bytes], bytes],
                               more_flags: bool = False) -> bytes:
    """Decode the component `data` and compile each of its core modules with
    `compile_core` (wasm bytes -> artifact bytes)."""
    from aot.component.binary import decode_component

    model = decode_component(data, more_flags)
    return write_component_artifact(data, [compile_core(mod.data) for mod in core_modules(model)])


__all__ = ["compile_component_artifact", "core_modules", "is_component_artifact",
           "read_component_artifact", "write_component_artifact"]
