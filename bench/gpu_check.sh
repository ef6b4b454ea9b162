#!/usr/bin/env bash
# Issue #7's GPU measurements in one command, for a lent GPU machine (docs/jax-backend.md, "On a lent
# GPU"): the JAX backend's path-steps/s at 10^6-10^8 paths (war only and the optimal policy), one
# sample of 10^6-10^7 paths with its peak memory, and a full `ceasefire sensitivity` of the flagship
# on `--backend jax`, timed. Run from the repository root:
#
#   make gpu-wheels                     # here: the packages the machine lacks, into .whl/
#   bash bench/gpu_check.sh             # there, with .whl carried; results under $OUT
#   GPU_CHECK_DRY=1 OUT=/tmp/gpuout bash bench/gpu_check.sh   # every step at tiny sizes on the CPU
#
# Each step runs under its own timeout and a failed step does not stop the next, so the whole run
# ends within about 7 minutes even when a step hangs. Files written to $OUT (at most 8, flat):
#   log.txt             everything printed (nvidia-smi, versions, devices, each step)
#   bench-many.json     many samples of 1,000 paths: 10^6 and 10^7 paths (bench/jax_backend.py --cases)
#   bench-big.json      10^8 paths as 10^5 samples of 1,000
#   bench-one.json      one sample of 10^6 and 10^7 paths, with host and device peak memory
#   bench-stderr.txt    the benchmarks' rows as they finish (kept when a step is stopped) and errors
#   sobol-gpu.json      the sensitivity result;  sobol-gpu-time.txt: its wall seconds and exit status
#                       (and those of -N 1024, step sobol1024, when GPU_CHECK_STEPS names it)
#   summary.txt         each step's status, path-steps/s, share of the memory-bandwidth bound, Sobol time
#
# Environment: OUT (default out/gpu-check), GPU_CHECK_DRY=1, GPU_CHECK_WHEELS (default .whl),
# GPU_CHECK_PYTHON (default python3), GPU_CHECK_STEPS (default "many big sobol one").

set -uo pipefail  # no -e: a failing step must not stop the later ones

cd "$(dirname "$0")/.." || exit 2
OUT=${OUT:-out/gpu-check}
DRY=${GPU_CHECK_DRY:-0}
WHEELS=${GPU_CHECK_WHEELS:-.whl}
PY=${GPU_CHECK_PYTHON:-python3}
STEPS=${GPU_CHECK_STEPS:-many big sobol one}
mkdir -p "$OUT" || exit 2
# $OUT is empty on the device; elsewhere, results of an earlier run would be appended to
rm -f "$OUT"/{log.txt,bench-{many,big,one}.json,bench-stderr.txt,sobol-gpu.json,sobol-gpu-time.txt,summary.txt}

if [[ $DRY == 1 ]]; then
    HORIZON=6
    MANY=10x100,40x100
    BIG=80x100
    ONE=1x500,1x5000  # 5,000 paths is two path blocks on the CPU (4,096), as 10^7 is ten on a GPU
    # casualties_A: under Model 2 the flagship settles on no path within 12 months, and the default
    # output (P(settlement within the horizon)) would be refused as constant at this size
    SOBOL_SIZE=(-N 2 --paths 64 --horizon 12 --screen-n 2 --output casualties_A)
    SOBOL_BIG_N=4
    export JAX_PLATFORMS=cpu
else
    HORIZON=60
    MANY=1000x1000,10000x1000
    BIG=100000x1000
    ONE=1x1e6,1x1e7
    SOBOL_SIZE=()  # the command's defaults: the full analysis the issue asks to time
    SOBOL_BIG_N=1024
fi
# Seconds each step may take (T_SETUP twice): 405 s in all, plus 5 s of grace each for a stuck one.
T_SETUP=30 T_MANY=110 T_BIG=75 T_SOBOL=75 T_ONE=70 T_SUMMARY=15
if [[ $DRY == 1 ]]; then
    # The dry run checks that every step still runs against this code, on a CPU that may be shared:
    # the limits above budget a lent GPU's time, not a smoke test's.
    T_SETUP=300 T_MANY=300 T_BIG=300 T_SOBOL=300 T_ONE=300 T_SUMMARY=60
fi

export PYTHONUNBUFFERED=1
# JAX would otherwise take 75% of the GPU's memory up front, and bench-one's fresh process for the
# peak memory (--memory) could then not start beside its parent.
export XLA_PYTHON_CLIENT_PREALLOCATE=false
SITE=$(mktemp -d /tmp/gpu-check-site.XXXXXX)
CACHE=$(mktemp -d /tmp/gpu-check-jax.XXXXXX)
STATUS=""
FAILED=0

# step NAME LIMIT COMMAND...: COMMAND under a timeout (its group killed 5 s after), banners on fd 3
# so that the caller may redirect the command's own output; LAST_RC and LAST_WALL keep the outcome.
step() {
    local name=$1 limit=$2 start note=""
    shift 2
    echo "=== $name (at most ${limit} s): $*" >&3
    start=$(date +%s.%N)
    timeout -k 5 "$limit" "$@"
    LAST_RC=$?
    LAST_WALL=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
    [[ $LAST_RC == 124 || $LAST_RC == 137 ]] && note=" (stopped at its time limit)"
    [[ $LAST_RC != 0 ]] && FAILED=1
    STATUS+="$name: exit $LAST_RC after $LAST_WALL s$note"$'\n'
    echo "=== $name: exit $LAST_RC after $LAST_WALL s$note" >&3
}

# The benchmark steps share JAX's persistent compilation cache, so bench-big and the fresh processes
# of --memory load the programs bench-many compiled (its first calls still include compiling).
bench() {
    local name=$1 limit=$2
    shift 2
    step "$name" "$limit" env JAX_COMPILATION_CACHE_DIR="$CACHE" "$PY" bench/jax_backend.py \
        --horizon "$HORIZON" --no-range --numpy-max-steps 0 "$@" \
        >"$OUT/$name.json" 2> >(tee -a "$OUT/bench-stderr.txt" >&3)
}

setup() {
    echo "date: $(date -u +%FT%TZ)  dry: $DRY  steps: $STEPS"
    uname -a
    if command -v nvidia-smi >/dev/null; then
        nvidia-smi
        GPU_NAME=$(nvidia-smi --query-gpu=name --format=csv,noheader | head -n 1)
    else
        echo "nvidia-smi: not found"
        GPU_NAME=none
    fi
    "$PY" -V
    local wheels=("$WHEELS"/*.whl)
    if [[ -e ${wheels[0]} ]]; then
        step wheels "$T_SETUP" "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
            --upgrade --target "$SITE" "${wheels[@]}"
    else
        echo "no wheels in $WHEELS: pydantic, lark, SALib ... must be installed already (make gpu-wheels)"
    fi
    export PYTHONPATH="$SITE:$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
    # What the later steps import, so that a missing package shows here, once.
    step imports "$T_SETUP" "$PY" -c '
import importlib.metadata as md, jax, numpy
import ceasefire, ceasefire.cli, ceasefire.analysis.sensitivity, ceasefire.model.jax.engine
names = ("jax", "jaxlib", "numpy", "scipy", "pandas", "pyarrow", "pydantic", "SALib", "lark", "typing_extensions")
print("ceasefire", ceasefire.__version__, "|", *(f"{n} {md.version(n)}" for n in names))
print("jax backend:", jax.default_backend(), "devices:", jax.devices())'
}

summary() {
    export GPU_NAME STATUS
    step summary "$T_SUMMARY" "$PY" - "$OUT" "$HORIZON" <<'PY'
"""Each step's status; path-steps/s with the share of the GPU's memory-bandwidth bound; the Sobol time."""
import json
import os
import sys
from pathlib import Path

out, horizon = Path(sys.argv[1]), int(sys.argv[2])
gpu = os.environ["GPU_NAME"]
# HBM bytes per second: H200, H100 PCIe, H100 SXM; none known for another device
bandwidth = 4.8e12 if "H200" in gpu else 2.0e12 if "H100 PCIe" in gpu else 3.35e12 if "H100" in gpu else None
# The NumPy engine (run.experiment.simulate_samples, one worker) on the project's 2-core machine,
# median path-steps/s of `bench/jax_backend.py --cases 100x1000 --horizon 60 --configs war,optimal
# --no-range --repeats 3`, 2026-12-05 00:20-00:22 UTC, load average 0.6-1.2 (docs/jax-backend.md).
numpy_here = {"war": 2.50e6, "optimal": 2.11e5}
try:  # the bytes an ideal kernel moves per path-step (docs/jax-backend.md), for the bound
    sys.path.insert(0, "bench")
    from ceasefire.model.jax.engine import state_bytes_per_path_step
    from jax_backend import config_for, flagship

    sc = flagship()

    def state_bytes(config: str) -> int | None:
        return state_bytes_per_path_step(config_for(config, horizon, False), len(sc.terms), len(sc.objectives))["total"]
except Exception as e:
    print(f"no state bytes: {e!r}")

    def state_bytes(config: str) -> int | None:
        return None

lines = [f"GPU: {gpu}", os.environ["STATUS"]]
rows = []
for part in ("bench-many", "bench-big", "bench-one"):
    try:
        rows += json.loads((out / f"{part}.json").read_text())["results"]
    except (OSError, ValueError, KeyError):  # stopped: its finished rows are in bench-stderr.txt
        seen = {(r["config"], r["samples"], r["paths_per_sample"]) for r in rows}
        err = out / "bench-stderr.txt"
        for line in err.read_text().splitlines() if err.exists() else []:
            if line.startswith('{"config"'):
                r = json.loads(line)
                if (r["config"], r["samples"], r["paths_per_sample"]) not in seen:
                    rows.append(r)
head = f"{'config':8} {'samples x paths':>17} {'JAX path-steps/s':>17} {'x NumPy here':>12} {'1st call s':>10}"
lines += [
    f"horizon {horizon} months, no monthly range. x NumPy here: over the NumPy engine on the 2-core machine",
    f"({numpy_here['war']:.3g} war, {numpy_here['optimal']:.3g} optimal path-steps/s at 60 months).",
    "1st call: compiling (from the persistent cache after a step's first) and one run.",
    head,
]
for r in rows:
    rate = r.get("jax_path_steps_per_s")
    total = state_bytes(r["config"])
    share = f"  {rate * total / bandwidth:.2%} of the {gpu} bound" if rate and total and bandwidth else ""
    ratio = rate / numpy_here[r["config"]] if rate and r["config"] in numpy_here else float("nan")
    memory = r.get("jax_memory") or {}
    peak = memory.get("device_peak_bytes")
    mem = f"  device peak {peak / 2**30:.1f} GiB, host {memory['host_peak_rss_bytes'] / 2**30:.1f} GiB" if peak else ""
    lines.append(
        f"{r['config']:8} {r['samples']:>7} x {r['paths_per_sample']:<9} {rate or 0:17.3e} {ratio:12.1f} "
        f"{r['jax_first_call_s']:10.1f}{share} ({total} B/path-step){mem}"
    )
    if len(r.get("jax_seconds", [])) > 1:
        lines.append(f"{'':28} timed runs: {', '.join(f'{s:.3f}' for s in r['jax_seconds'])} s")
timing = out / "sobol-gpu-time.txt"
lines += timing.read_text().splitlines() if timing.exists() else ["sobol: not run"]
try:
    sobol = json.loads((out / "sobol-gpu.json").read_text())
    top = ", ".join(f"{row['parameter']} {row['ST']:.2f}" for row in sobol["rows"][:3])
    lines.append(f"sobol-gpu.json: {sobol['evaluations']} points x {sobol['paths']} paths; top ST: {top}")
except (OSError, ValueError, KeyError) as e:
    lines.append(f"sobol-gpu.json: none ({e})")
text = "\n".join(lines) + "\n"
(out / "summary.txt").write_text(text)
print(text, end="")
PY
}

main() {
    exec 3>&1
    setup
    for name in $STEPS; do
        case $name in
            many) bench bench-many "$T_MANY" --cases "$MANY" --configs war,optimal --repeats 2 ;;
            big) bench bench-big "$T_BIG" --cases "$BIG" --configs war,optimal --repeats 1 ;;
            one) bench bench-one "$T_ONE" --cases "$ONE" --configs optimal,war --repeats 1 --memory ;;
            sobol)
                # python3 -m: the console script is not installed there, and -m runs this tree's src.
                # No persistent cache: the time asked for is a fresh process's, compiling included.
                step sobol "$T_SOBOL" env -u JAX_COMPILATION_CACHE_DIR "$PY" -m ceasefire sensitivity \
                    russia-ukraine-2026 --backend jax "${SOBOL_SIZE[@]}" --json "$OUT/sobol-gpu.json" -q
                echo "sobol: wall_s=$LAST_WALL exit=$LAST_RC args=${SOBOL_SIZE[*]:-defaults}" \
                    >>"$OUT/sobol-gpu-time.txt"
                ;;
            sobol1024)  # not by default: 16x the points, its time only (no JSON: 8 files come back)
                step sobol1024 "$T_SOBOL" env -u JAX_COMPILATION_CACHE_DIR "$PY" -m ceasefire sensitivity \
                    russia-ukraine-2026 --backend jax "${SOBOL_SIZE[@]}" -N "$SOBOL_BIG_N" -q
                echo "sobol1024: wall_s=$LAST_WALL exit=$LAST_RC args=${SOBOL_SIZE[*]} -N $SOBOL_BIG_N" \
                    >>"$OUT/sobol-gpu-time.txt"
                ;;
            *) echo "unknown step '$name' (steps: many big sobol one sobol1024)" ;;
        esac
    done
    summary
    rm -rf "$SITE" "$CACHE"
    return "$FAILED"
}

main 2>&1 | tee "$OUT/log.txt"
