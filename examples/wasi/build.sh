#!/bin/sh
# Rebuild the example WASI programs next to their sources.  Needs Debian's
#   apt-get install clang lld wasi-libc libclang-rt-dev-wasm32
# (clang 14, wasm-ld, wasi-libc's sysroot in /usr, compiler-rt builtins for wasm32).
set -eu
cd "$(dirname "$0")"
CC=${CC:-clang}
for src in *.c; do
    "$CC" --target=wasm32-wasi --sysroot=/usr -O2 -Wall -Wextra -s -o "${src%.c}.wasm" "$src"
done
ls -l ./*.wasm
