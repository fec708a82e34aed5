"""A compiled module, loaded: everything that does not depend on imports is prepared
once here (wasmtime's InstancePre), so each instantiation only links and initializes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aot.abi.metadata import ExportDesc, ImportDesc
from aot.loader.artifact import Artifact, artifact_from_bytes
from aot.loader.ffi import INIT_C_TYPE, ffi
from aot.loader.instance import Instance
from aot.loader.store import Store
from aot.loader.typeregistry import canonical_type_id


class Module:
    """A compiled WebAssembly module ready to instantiate (`aot.compile` / `aot.load`)."""

    def __init__(self, artifact: Artifact):
        self._artifact = artifact
        desc = artifact.desc
        self._layout = desc.layout()
        self._canonical_ids = [canonical_type_id(t) for t in desc.types]
        self._type_ids = ffi.new("uint32_t[]", self._canonical_ids or [0])
        self._init = ffi.cast(INIT_C_TYPE, artifact.init_addr)
        self._exports_by_name = desc.export_index

    @property
    def path(self) -> str:
        return self._artifact.path

    @property
    def name(self) -> str | None:
        return self._artifact.desc.name

    @property
    def imports(self) -> list[ImportDesc]:
        return list(self._artifact.desc.imports)

    @property
    def exports(self) -> list[ExportDesc]:
        return list(self._artifact.desc.exports)

    def serialize(self) -> bytes:
        """The compiled artifact's bytes (wasmtime's `Module.serialize`): store them
        anywhere, load them with `aot.load(bytes)` or `Module.deserialize`."""
        return self._artifact.serialize()

    @classmethod
    def deserialize(cls, data: bytes | bytearray | memoryview, **expect) -> Module:
        """A module from `serialize()`'s bytes, checked like a file: refused with
        `ArtifactError` when damaged, foreign or built for something this process cannot
        run.  Keyword arguments name compile options it must have, as `aot.load`'s."""
        return cls(artifact_from_bytes(bytes(data), expect or None))

    def instantiate(self, imports: Mapping[str, Mapping[str, Any]] | None = None, *,
                    store: Store | None = None) -> Instance:
        """Link `imports` ({"module": {"name": extern-or-callable}}) and initialize.

        Raises LinkError for a missing or mistyped import, Trap when a segment does not
        fit or the start function traps."""
        return Instance(self, imports, store)

    def __repr__(self) -> str:
        return f"<aot.Module {self.name or self.path}>"
