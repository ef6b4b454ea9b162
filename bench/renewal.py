"""How much the renewal of Ukraine's external money moves the flagship's chance of a settlement.

``python bench/renewal.py [--samples 40] [--paths 100] [--seed 7] [--out bench/results]``

The flagship treats the yearly decisions on external money (``[sides.B.renewal]``: cut, raised or
renewed as is, first in month 11, then every 12 months) as uncertain parameters. This runs the flagship
as written and with those decisions fixed: always renewed as is, always cut to half, always cut to
nothing. Every variant uses the same seed (common random numbers). It writes ``renewal.json`` and
``renewal.md`` (the table quoted in ``docs/model.md``): the chance of a settlement by each year end and
within the horizon, with its Monte Carlo standard error.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from ceasefire import __version__
from ceasefire.run.experiment import RunSpec, run
from ceasefire.run.summary import summarize
from ceasefire.scenario.load import parse_scenario, read_text

FLAGSHIP = "russia-ukraine-2026"
CUT = 'cut = { dist = "uniform", low = 0.1, high = 0.4,'
CUT_TO = 'cut_to = { dist = "uniform", low = 0.5, high = 0.8,'
RAISED = 'raised = { dist = "uniform", low = 0.05, high = 0.2,'

VARIANTS: dict[str, list[tuple[str, str]]] = {
    "as written (uncertain)": [],
    "always renewed as is": [(CUT, "cut = { value = 0,"), (RAISED, "raised = { value = 0,")],
    "always cut to half": [(CUT, "cut = { value = 1,"), (CUT_TO, "cut_to = { value = 0.5,"), (RAISED, "raised = { value = 0,")],
    "always cut to nothing": [(CUT, "cut = { value = 1,"), (CUT_TO, "cut_to = { value = 0,"), (RAISED, "raised = { value = 0,")],
}


def scenario(edits: list[tuple[str, str]]):  # type: ignore[no-untyped-def]
    file, text = read_text(FLAGSHIP)
    for old, new in edits:
        if old not in text:
            raise SystemExit(f"{FLAGSHIP}: the text {old!r} is no longer in the scenario; update bench/renewal.py")
        text = text.replace(old, new, 1)
    return parse_scenario(text, file)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=40)
    ap.add_argument("--paths", type=int, default=100)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = ap.parse_args()
    rows = {}
    for name, edits in VARIANTS.items():
        sc = scenario(edits)
        t0 = time.perf_counter()
        result = run(sc, RunSpec.from_scenario(sc, samples=args.samples, paths=args.paths, seed=args.seed))
        s = summarize(result)
        rows[name] = {
            "settle_by": {day: {"p": p.p, "se": p.se} for day, p in s.settle_by.items()},
            "horizon": {"p": s.settle_within["horizon"].p, "se": s.settle_within["horizon"].se},
            "seconds": time.perf_counter() - t0,
        }
        print(name, json.dumps(rows[name]), flush=True)
    sizes = {"samples": args.samples, "paths": args.paths, "seed": args.seed, "version": __version__}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "renewal.json").write_text(json.dumps({"sizes": sizes, "rows": rows}, indent=2) + "\n")
    days = list(next(iter(rows.values()))["settle_by"])
    lines = [
        f"Flagship, {args.samples} samples × {args.paths} paths, seed {args.seed}, version {__version__}: "
        "chance of a settlement (± its standard error), %.",
        "",
        "| external money | " + " | ".join(f"by {d}" for d in days) + " | within the horizon |",
        "|---|" + "---:|" * (len(days) + 1),
    ]
    for name, r in rows.items():
        cells = [f"{100 * r['settle_by'][d]['p']:.1f} ± {100 * r['settle_by'][d]['se']:.1f}" for d in days]
        cells.append(f"{100 * r['horizon']['p']:.1f} ± {100 * r['horizon']['se']:.1f}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    (args.out / "renewal.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
