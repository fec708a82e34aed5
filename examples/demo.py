"""The README's example: compile a module to a shared object, load it, call it."""

from pathlib import Path

import aot

here = Path(__file__).resolve().parent
artifact = here.parent / "cache" / "example.so"

# Build step (what `aot compile examples/example.wasm -o cache/example.so` does):
aot.compile_file(here / "example.wasm", artifact)

# Start-up step: load the artifact, no compiler involved.
module = aot.load(artifact)
instance = module.instantiate()
exports = instance.exports

print("fib(90)       =", exports.fib(90))
print("divmod(17, 5) =", exports.divmod(17, 5))  # two results come back as a tuple

data = bytes(range(1, 101))
exports.memory.write(0, data)  # linear memory is reachable from Python
print("sum(1..100)   =", exports.sum(0, len(data)))

try:
    exports.divmod(1, 0)
except aot.Trap as trap:
    print(f"divmod(1, 0)  -> trap {trap.code.name}: {trap.message}")
    print(trap.backtrace)
