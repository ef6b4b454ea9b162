"""The NumPy engine's speed against an earlier version of the code, measured in the same run.

``python bench/compare_engine.py --baseline REV [--repeats 5] [--out bench/results]``: checks REV out
into a temporary git worktree and times the engine of both trees on the same cases, alternating
between them in fresh processes (this machine is shared and noisy: alternation spreads the noise over
both), one core each. Each process runs its case ``--repeats`` times after a warm-up and reports the
median; the ratio printed is the median of the per-round ratios (current / baseline: below 1 is
faster). Both trees must give the same numbers: each process also prints a digest of the outcomes,
and a difference is reported.

The cases are the engine row's of ``bench/run.py`` (the flagship, optimal and myopic policies, no
bargaining range), through ``ceasefire.run.experiment.simulate_samples``, an entry point both trees have.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CASES = {
    "optimal 10 x 1,000": {"samples": 10, "paths": 1_000, "horizon": 12, "policy": "optimal"},
    "optimal 10 x 10,000": {"samples": 10, "paths": 10_000, "horizon": 12, "policy": "optimal"},
    "myopic 10 x 10,000": {"samples": 10, "paths": 10_000, "horizon": 12, "policy": "myopic"},
    "optimal 2 x 4,000, 60 months": {"samples": 2, "paths": 4_000, "horizon": 60, "policy": "optimal"},
}

CHILD = r"""
import hashlib, json, statistics, sys, time
import numpy as np
from ceasefire.model.engine import RunConfig
from ceasefire.run.experiment import candidate_parameters, simulate_samples
from ceasefire.run.sampling import Seeds
from ceasefire.scenario.load import load_scenario

case, repeats = json.loads(sys.argv[1]), int(sys.argv[2])
sc = load_scenario("russia-ukraine-2026")
seeds = Seeds.from_seed(20260201)
values = candidate_parameters(sc, case["samples"], seeds, 0)
path_seeds = [seeds.path_seed(i) for i in range(case["samples"])]
config = RunConfig(horizon=case["horizon"], policy=case["policy"], bargaining_range=False)

def once():
    return simulate_samples(sc, values, path_seeds, case["paths"], config, {}, workers=1)

out = once()  # warm-up
times = []
for _ in range(repeats):
    t = time.perf_counter()
    once()
    times.append(time.perf_counter() - t)
h = hashlib.sha256()
for a in (out.first_settlement, out.first_terms, out.casualties_total["A"], out.held_at_end):
    h.update(np.ascontiguousarray(a).tobytes())
print(json.dumps({"seconds": statistics.median(times), "digest": h.hexdigest()[:16]}))
"""


def measure(src: Path, case: dict[str, object], repeats: int) -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": str(src), "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(case), str(repeats)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", required=True, help="git revision of the code to compare with")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per process")
    parser.add_argument("--rounds", type=int, default=3, help="alternations of the two trees per case")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args(argv)
    rev = subprocess.run(["git", "rev-parse", "--short", args.baseline], capture_output=True, text=True, check=True)
    here = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "baseline"
        subprocess.run(["git", "worktree", "add", "-q", "--detach", str(base), args.baseline], check=True, cwd=ROOT)
        try:
            for name, case in CASES.items():
                ratios, now, then, digests = [], [], [], set()
                for _ in range(args.rounds):
                    b = measure(base / "src", case, args.repeats)
                    c = measure(ROOT / "src", case, args.repeats)
                    then.append(float(b["seconds"]))  # type: ignore[arg-type]
                    now.append(float(c["seconds"]))  # type: ignore[arg-type]
                    ratios.append(now[-1] / then[-1])
                    digests |= {("baseline", b["digest"]), ("current", c["digest"])}
                same = len({d for _, d in digests}) == 1
                row = {
                    "case": name,
                    **case,
                    "baseline_seconds": statistics.median(then),
                    "current_seconds": statistics.median(now),
                    "ratio": statistics.median(ratios),
                    "ratios": ratios,
                    "same_numbers": same,
                }
                rows.append(row)
                print(
                    f"{name}: baseline {row['baseline_seconds']:.2f} s, current {row['current_seconds']:.2f} s, "
                    f"ratio {row['ratio']:.3f} (rounds {', '.join(f'{r:.3f}' for r in ratios)})"
                    + ("" if same else "  DIFFERENT NUMBERS"),
                    flush=True,
                )
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(base)], check=False, cwd=ROOT)
    report = {"baseline": rev.stdout.strip(), "current": here.stdout.strip(), "rows": rows}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "engine_vs_baseline.json").write_text(json.dumps(report, indent=1) + "\n")
    return 0 if all(r["same_numbers"] for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
