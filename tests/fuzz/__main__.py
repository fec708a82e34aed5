"""`python -m tests.fuzz --minutes N`: a long fuzz run (see `tests.fuzz.campaigns`).

Cases are drawn round-robin from the campaigns (weights: mutants are cheap, differential
cases compile three times), seeds counting up from --seed, so a run is reproducible and a
finding names the seed that replays it: `python -m tests.fuzz --replay CAMPAIGN SEED`."""

from __future__ import annotations

import argparse
import itertools
import sys
import time

from tests.fuzz.campaigns import CAMPAIGNS, have_binaryen
from tests.fuzz.driver import run

# Cases per round: mutants are cheap, a differential case compiles the module 2 times.
WEIGHTS = {"differential": 1, "wasm": 10, "artifact": 30}


def schedule(seed: int, campaigns=tuple(WEIGHTS)):
    for n in itertools.count():
        for campaign in campaigns:
            for k in range(WEIGHTS[campaign]):
                yield campaign, seed + n * WEIGHTS[campaign] + k


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.fuzz", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--minutes", type=float, default=5.0, help="how long to run (default 5)")
    p.add_argument("--seed", type=int, default=0, help="first seed (default 0)")
    p.add_argument("-j", "--jobs", type=int, default=2, help="worker processes (default 2)")
    p.add_argument("--campaign", choices=sorted(CAMPAIGNS), action="append",
                   help="run only this campaign (repeatable)")
    p.add_argument("--replay", nargs=2, metavar=("CAMPAIGN", "SEED"),
                   help="run one case in this process and print its finding")
    args = p.parse_args(argv)
    if not have_binaryen():
        print("fuzz: binaryen's wasm-opt is not on PATH (Debian package binaryen)", file=sys.stderr)
        return 2
    if args.replay:
        finding = CAMPAIGNS[args.replay[0]](int(args.replay[1]))
        print(finding or "no finding")
        return 1 if finding else 0
    started = time.monotonic()
    last = [0.0]

    shown = {"finding": 0, "crash": 0, "hang": 0}

    def progress(report) -> None:
        # Each at once, with its seed: a long run may be cut short.
        for kind, found in (("finding", report.findings), ("crash", report.crashes),
                            ("hang", report.hangs)):
            for line in found[shown[kind]:]:
                print(f"{kind}: {line}", file=sys.stderr, flush=True)
            shown[kind] = len(found)
        now = time.monotonic()
        if now - last[0] > 60:
            last[0] = now
            print(f"[{(now - started) / 60:5.1f} min] {report.summary().splitlines()[0]}",
                  file=sys.stderr, flush=True)

    report = run(schedule(args.seed, tuple(args.campaign or WEIGHTS)), jobs=args.jobs,
                 deadline=started + 60 * args.minutes, progress=progress)
    print(report.summary())
    return 0 if report.clean else 1


if __name__ == "__main__":
    sys.exit(main())
