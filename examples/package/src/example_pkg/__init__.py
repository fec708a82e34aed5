"""A package that calls WebAssembly: its module was compiled when the wheel was built,
so importing it loads machine code and never starts the compiler."""

from aot import load_package_artifact

# rebuild=True: an artifact from another aot version or for a CPU without its features
# is compiled again from the wasm it embeds, instead of refused.
_exports = load_package_artifact(__name__, "wasm/example", rebuild=True).instantiate().exports


def fib(n: int) -> int:
    return _exports.fib(n)


def divmod_u(a: int, b: int) -> tuple[int, int]:
    return _exports.divmod(a, b)
