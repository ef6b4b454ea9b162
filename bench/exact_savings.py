"""Micro-benchmark of the engine's exact savings (same bits, less work), each against its old form.

``python bench/exact_savings.py [--repeats N] [--paths N]``: for every kernel the old computation
(kept here as the baseline) and the new one are timed alternately, in the same run, and the median
of the per-repeat ratios is printed; each pair is first checked to give the same bits.

* ``peace later``: the myopic leader's value of peace later, only on the terms the other accepts
  (about 45% of the elements in the flagship) instead of on every element then masked;
* ``peace (n, m)``: the value of peace of every terms option laid out terms by paths (a path's
  quantities broadcast over whole rows) instead of paths by terms;
* ``victory scores``: the victory scores of every terms option computed terms by paths;
* ``victory score``: the aims' weighted attainment without the aims tied to no objective.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from ceasefire.model import bargaining
from ceasefire.model.engine import per_path
from ceasefire.model.valuation import Structure, Valuation, aim_progress, untied, victory, victory_at
from ceasefire.model.world import Side
from ceasefire.run.sampling import sample_parameters
from ceasefire.scenario.load import load_scenario

Array = NDArray[np.float64]


def valuation(rng: np.random.Generator, n: int, m: int) -> Valuation:
    u = rng.random
    return Valuation(
        peace_now=np.zeros((n, m)),
        stay=u(n) * 100.0,
        flow=1.0 + u(n),
        rate_war=u(n) * 0.05,
        punishment_war=u(n) * 60.0,
        delta=0.97 + 0.029 * u(n),
        rate_peace=0.002 + 0.02 * u(n),
        shock_total=u(n) * 0.05,
        punishment=5.0 + 45.0 * u(n),
        lost_war=u(n),
        tau=6.0 + 18.0 * u(n),
        gamma=0.5 + 1.5 * u(n),
    )


def pair(old: Callable[[], Array], new: Callable[[], Array], repeats: int) -> tuple[float, float, float]:
    """Median seconds of ``old`` and ``new`` and the median per-repeat ratio old / new."""
    a, b = old(), new()
    if not np.array_equal(np.asarray(a).view(np.int64), np.asarray(b).view(np.int64)):
        raise AssertionError("the new computation does not give the old bits")
    t_old, t_new, ratio = [], [], []
    for _ in range(repeats):
        start = time.perf_counter()
        old()
        middle = time.perf_counter()
        new()
        end = time.perf_counter()
        t_old.append(middle - start)
        t_new.append(end - middle)
        ratio.append((middle - start) / (end - middle))
    return statistics.median(t_old), statistics.median(t_new), statistics.median(ratio)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--paths", type=int, default=16384, help="paths at war in one call (a group of 4 blocks)")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    sc = load_scenario("russia-ukraine-2026")
    st = Structure.from_scenario(sc)
    n, m = args.paths, len(st.terms)
    val = valuation(rng, n, m)
    v = np.clip(rng.random((n, m)) * 1.2 - 0.1, 0.0, 1.0)
    read = rng.random((n, m)) < 0.45
    params = per_path(sample_parameters(sc, 8, 3), -(-n // 8))
    sd = Side(params, "A")
    idx = np.arange(n)
    progress = np.clip(rng.random((n, st.n_objectives)) * 1.2 - 0.1, 0.0, 1.0)
    rows: list[tuple[str, tuple[float, float, float]]] = []

    def later_old() -> Array:
        return np.where(read, val.peace(victory(st, "A", progress, sd, idx)), -np.inf)

    def later_new() -> Array:
        return val.peace_where(read, lambda r, k: victory_at(st, "A", progress, sd, idx, r, k), -np.inf)

    rows.append(("peace later (45% of elements)", pair(later_old, later_new, args.repeats)))
    rows.append(
        (
            "peace (n, m), terms by paths",
            pair(lambda: val._peace(v, lambda a: a[:, None]), lambda: val.peace(v), args.repeats),
        )
    )

    def victory_old() -> Array:  # paths by terms, every aim summed: the old layout
        score = bargaining.weighted_attainment(
            st.granted["A"], aim_progress(st, "A", progress), st.aim_lost["A"], st.aim_weights["A"]
        )
        received = sd.ld["concession_received"][idx]
        offered = received + st.concessions("A").max()
        concession = received[:, None] + st.concessions("A")[None, :]
        return bargaining.victory_from_score(
            score, sd.ld["aspiration"][idx], concession, offered, sd.ld["reasons.opportunism"][idx]
        )

    rows.append(
        ("victory scores, terms by paths", pair(victory_old, lambda: victory(st, "A", progress, sd, idx), args.repeats))
    )
    reached = aim_progress(st, "A", progress)
    rows.append(
        (
            "victory score, untied aims skipped",
            pair(
                lambda: bargaining.weighted_attainment(st.granted["A"], reached, st.aim_lost["A"], st.aim_weights["A"]),
                lambda: bargaining.weighted_attainment(
                    st.granted["A"], reached, st.aim_lost["A"], st.aim_weights["A"], untied(st, "A")
                ),
                args.repeats,
            ),
        )
    )
    print(f"{n} paths x {m} terms, median of {args.repeats} repeats (old and new alternately)")
    print(f"{'kernel':40s} {'old ms':>8s} {'new ms':>8s} {'speed-up':>9s}")
    for name, (t_old, t_new, ratio) in rows:
        print(f"{name:40s} {t_old * 1e3:8.2f} {t_new * 1e3:8.2f} {ratio:8.2f}x")


if __name__ == "__main__":
    main()
