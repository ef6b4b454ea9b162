"""NumPy and JAX sweeps of the flagship against each other, over several seeds.

``python bench/sweep_backends.py [--seeds 8] [--rows 200] [--paths 100]``: the same Latin-hypercube
rows swept once per seed and backend (optimal policy, the scenario's horizon); prints, per backend,
the mean over rows of ``p_settle_12`` and the share of rows with a deal in month 0, and their mean
and standard deviation over seeds. Each seed's rows share their random numbers (common random
numbers), so the seeds, not the rows, are the independent repeats.
"""

from __future__ import annotations

import argparse
import statistics

from ceasefire.run.sweep import SweepSpec, latin_hypercube, run_sweep
from ceasefire.scenario.load import load_scenario

BACKENDS = ("numpy", "jax")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--rows", type=int, default=200)
    parser.add_argument("--paths", type=int, default=100)
    args = parser.parse_args()
    sc = load_scenario("russia-ukraine-2026")
    design = latin_hypercube(sc, args.rows, seed=3)
    found: dict[str, list[tuple[float, float]]] = {b: [] for b in BACKENDS}
    for seed in range(1, args.seeds + 1):
        for backend in BACKENDS:
            spec = SweepSpec.from_scenario(
                sc, paths=args.paths, seed=seed, backend=backend, metrics=("p_settle_12", "deal_at_start")
            )
            table = run_sweep(sc, design, spec)
            p12, deals = float(table["p_settle_12"].mean()), float((table["deal_at_start"] > 0).mean())
            found[backend].append((p12, deals))
            print(f"seed {seed} {backend:5s} p_settle_12 {p12:.4f}  month-0 deals {deals:.4f}")
    for backend, rows in found.items():
        p12, deals = [r[0] for r in rows], [r[1] for r in rows]
        print(
            f"{backend:5s} p_settle_12 mean {statistics.mean(p12):.4f} sd {statistics.stdev(p12):.4f}; "
            f"month-0 deals mean {statistics.mean(deals):.4f} sd {statistics.stdev(deals):.4f}"
        )


if __name__ == "__main__":
    main()
