"""WebAssembly spec-test (.wast) runner for aot; see README.md."""
