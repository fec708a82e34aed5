"""A fuzz worker: reads `campaign seed` lines on stdin, runs each case
(`tests.fuzz.campaigns`) and writes one JSON line per case on stdout.  The driver
(`tests.fuzz.driver`) restarts it when it dies or hangs, and counts that case as a crash
or a hang."""

from __future__ import annotations

import json
import os
import sys


def main() -> None:
    out = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # what the cases print goes to stderr, not into the protocol
    from tests.fuzz.campaigns import CAMPAIGNS

    for line in sys.stdin:
        campaign, seed = line.split()
        try:
            finding = CAMPAIGNS[campaign](int(seed))
        except Exception as exc:  # noqa: BLE001 - the harness itself failed: report it
            finding = f"seed {seed}: harness error {type(exc).__name__}: {exc}"
        out.write(json.dumps({"campaign": campaign, "seed": int(seed), "finding": finding}) + "\n")


if __name__ == "__main__":
    main()
