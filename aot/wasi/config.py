"""WasiConfig: what a WASI program is given — arguments, environment, directories and
its three stdio streams."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Text = str | bytes


@dataclass(kw_only=True)
class WasiConfig:
    """Everything a WASI program sees of the host.

    `args`: argv, program name first.  `env`: a mapping or (name, value) pairs.
    `preopens`: (host directory, guest name) pairs, e.g. `[("/tmp/data", "/data")]`; the
    guest reaches nothing outside them.  `stdin`, `stdout`, `stderr`: "inherit" (the
    host's, the default), "null", "capture" (out streams: read it afterwards from
    `WasiCtx.stdout` / `.stderr`), bytes (stdin: its whole input), a file path as an
    os.PathLike (pathlib.Path; opened for reading, or created/truncated for writing), an
    open host descriptor, or a file object with fileno().
    """

    args: Sequence[Text] = ()
    env: Mapping[Text, Text] | Iterable[tuple[Text, Text]] = ()
    preopens: Sequence[tuple[str | os.PathLike, str]] = ()
    stdin: Any = "inherit"
    stdout: Any = "inherit"
    stderr: Any = "inherit"

    def preopen(self, host: str | os.PathLike, guest: str | None = None) -> WasiConfig:
        """Add a preopened directory (the guest name defaults to the host path)."""
        self.preopens = [*self.preopens, (host, os.fspath(host) if guest is None else guest)]
        return self
