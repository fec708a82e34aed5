#!/usr/bin/env bash
# Builds command.wasm, the WASI command component tests/component/test_wasi_command.py
# runs, from command.c with a real toolchain:
#
#   1. Debian's clang, lld and wasi-libc compile command.c to a WASI preview 1 core
#      module (wasm32-wasi: imports wasi_snapshot_preview1, exports _start);
#   2. jco's `new --wasi-command` (wasm-tools' `component new` compiled to wasm, run by
#      node) wraps it with the preview-1 *command* adapter that jco ships
#      (lib/wasi_snapshot_preview1.command.wasm): the component imports the WASI 0.2
#      interfaces the adapter needs and exports wasi:cli/run.
#
# Needs (Debian 12): apt-get install clang lld wasi-libc libclang-rt-14-dev-wasm32 npm
# (libclang-rt-*-dev-wasm32 is compiler-rt's builtins for wasm32, which clang links).
# jco is installed into a scratch directory from the npm registry, pinned to JCO_VERSION.
# Built with clang 14.0.6, wasi-libc 0.0~git20220510.9886d3d-2, jco 1.35.0 (its adapter
# imports WASI 0.2.12), node 20: the same inputs give the same bytes.
#
# Usage: tests/component/programs/build.sh   (writes command.wasm beside this script)
set -euo pipefail

JCO_VERSION=${JCO_VERSION:-1.35.0}
here=$(cd "$(dirname "$0")" && pwd)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# --strip-debug: wasi-libc's DWARF would quadruple the size; the name section stays,
# for readable trap backtraces.
clang --target=wasm32-wasi -O2 -Wl,--strip-debug -o "$scratch/core.wasm" "$here/command.c"

(cd "$scratch" && npm install --silent --no-audit --no-fund --prefix "$scratch" \
    "@bytecodealliance/jco@$JCO_VERSION" >/dev/null)
"$scratch/node_modules/.bin/jco" new "$scratch/core.wasm" --wasi-command \
    -o "$here/command.wasm"

echo "wrote $here/command.wasm ($(wc -c <"$here/command.wasm") bytes)"
