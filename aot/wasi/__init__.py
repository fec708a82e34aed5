"""WASI preview 1 (`wasi_snapshot_preview1`) for aot instances.

    config = aot.WasiConfig(args=["prog", "in.txt"], preopens=[("data", ".")], stdout="capture")
    with aot.WasiCtx(config) as wasi:
        code = wasi.run(aot.compile("prog.wasm"))
        print(code, wasi.stdout)

Modules: `config` (WasiConfig), `ctx` (WasiCtx), `imports` (the function table),
`fdtable`/`stdio` (descriptors), `sandbox` (path resolution), one module per family of
functions (`files`, `paths`, `readdir`, `clocks`, `poll`, `proc`), `errno`, `layout`.
"""

from aot.wasi.config import WasiConfig
from aot.wasi.ctx import WasiCtx
from aot.wasi.errno import Errno
from aot.wasi.imports import MODULE, SIGNATURES

__all__ = ["MODULE", "SIGNATURES", "Errno", "WasiConfig", "WasiCtx"]
