"""String tables (.strtab, .dynstr, .shstrtab): NUL-terminated names, each stored once."""

from __future__ import annotations


class StringTable:
    def __init__(self) -> None:
        self._data = bytearray(b"\0")  # offset 0 is the empty name, by the gABI
        self._offsets: dict[str, int] = {"": 0}

    def add(self, name: str) -> int:
        """The offset of `name`, appending it the first time it is seen."""
        offset = self._offsets.get(name)
        if offset is None:
            offset = self._offsets[name] = len(self._data)
            self._data += name.encode() + b"\0"
        return offset

    def __len__(self) -> int:
        return len(self._data)

    def bytes(self) -> bytes:
        return bytes(self._data)
