#!/usr/bin/env bash
# One entry point for a fresh clone: ./dev.sh demo | ./dev.sh test | ./dev.sh bench
# Each creates (or reuses) .venv, installs aot with its test dependencies, then runs.
set -euo pipefail
cd "$(dirname "$0")"

PYTHON=${PYTHON:-python3}
VENV=.venv
STAMP=$VENV/.installed

setup() {
    if [ ! -x "$VENV/bin/python" ]; then
        "$PYTHON" -m venv "$VENV"
    fi
    # Reinstall only when the dependency list changed.
    local want
    want=$(sha256sum pyproject.toml | cut -d' ' -f1)
    if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$want" ]; then
        "$VENV/bin/python" -m pip install --quiet --upgrade pip
        "$VENV/bin/python" -m pip install --quiet -e '.[test,bench]'
        echo "$want" > "$STAMP"
    fi
    # An editable install has no bytecode, and where PYTHONDONTWRITEBYTECODE is set
    # Python never writes it: every compile worker would compile aot's sources again
    # (0.1 s of start-up each).  Only what changed is compiled again.
    "$VENV/bin/python" -m compileall -q aot >/dev/null
}

# The demo, tests and benchmarks keep compiled artifacts in the checkout's cache/.
export AOT_CACHE_DIR=${AOT_CACHE_DIR:-$PWD/cache}

cmd=${1:-}
shift || true
case "$cmd" in
    demo)
        setup
        exec "$VENV/bin/python" examples/demo.py "$@"
        ;;
    test)
        setup
        "$VENV/bin/ruff" check aot tests bench examples
        # -n 2: the CI machine has two cores; the spec suite is one test per .wast file,
        # run at -O0, -O1 and -O2 (semantics must not depend on the optimizer), each
        # module split as a large module's automatic split would be at that level: a
        # unit per function at -O0/-O1, two units at -O2 (calls, wrappers and data
        # across units; the one-unit path is what every other test compiles).
        AOT_SPEC_OPT=${AOT_SPEC_OPT:-0,1,2} AOT_SPEC_UNITS=${AOT_SPEC_UNITS:-split} \
            exec "$VENV/bin/python" -m pytest -n 2 "$@"
        ;;
    bench)
        setup
        exec "$VENV/bin/python" -m pytest bench -p no:cacheprovider \
            --benchmark-min-time=0.0002 --benchmark-columns=median,iqr,iterations,rounds "$@"
        ;;
    *)
        echo "usage: ./dev.sh demo | test | bench  [extra arguments]" >&2
        exit 2
        ;;
esac
