"""Bit-level fingerprints of fixed-seed runs: a change that should not move any number must not move these.

Each case hashes every per-path array of the outcomes (including the monthly bargaining range and,
where recorded, the trajectories) and the JSON summary. Run before and after a performance change
and compare: ``python bench/fingerprint.py > before.txt`` ... ``diff before.txt after.txt``.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from dataclasses import replace

import numpy as np

from ceasefire.run.experiment import RunResult, RunSpec, run
from ceasefire.run.summary import summarize
from ceasefire.scenario.load import load_scenario

SCENARIO = "russia-ukraine-2026"
CASES: dict[str, dict[str, object]] = {
    "small-optimal": {"samples": 8, "paths": 30, "horizon": 24, "seed": 7},
    "small-myopic-record": {"samples": 6, "paths": 25, "horizon": 24, "seed": 3, "policy": "myopic", "record": True},
    "myopic": {"samples": 4, "paths": 2000, "horizon": 24, "seed": 13, "policy": "myopic"},
    "small-levers-true": {
        "samples": 6,
        "paths": 40,
        "horizon": 30,
        "seed": 11,
        "beliefs": "true",
        "levers": {"secondary-oil-sanctions": 1.0},
    },
    "medium-optimal": {"samples": 40, "paths": 200, "horizon": 60, "seed": 20260201},
    "large-paths-optimal": {"samples": 3, "paths": 4096, "horizon": 12, "seed": 5},
}


def outcome_digest(result: RunResult) -> str:
    """SHA-256 over every per-path array of the outcomes, in a fixed order."""
    h = hashlib.sha256()
    o = result.outcomes
    for name in sorted(o.__dataclass_fields__):
        value = getattr(o, name)
        items = sorted(value.items()) if isinstance(value, dict) else [("", value)]
        for key, arr in items:
            a = np.ascontiguousarray(arr)
            h.update(f"{name}.{key}:{a.dtype}:{a.shape}".encode())
            h.update(a.tobytes())
    return h.hexdigest()[:16]


def summary_digest(result: RunResult) -> str:
    doc = summarize(result).to_dict()
    doc.pop("seconds", None)  # wall time, not a result
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()[:16]


def main(names: list[str]) -> None:
    sc = load_scenario(SCENARIO)
    for name, case in CASES.items():
        if names and name not in names:
            continue
        spec = RunSpec.from_scenario(sc, **{k: v for k, v in case.items() if k != "record"})
        if case.get("record"):
            spec = replace(spec, record=True)
        start = time.perf_counter()
        result = run(sc, spec)
        seconds = time.perf_counter() - start
        print(f"{name}\toutcomes={outcome_digest(result)}\tsummary={summary_digest(result)}\t({seconds:.1f} s)")
        sys.stdout.flush()


if __name__ == "__main__":
    main(sys.argv[1:])
