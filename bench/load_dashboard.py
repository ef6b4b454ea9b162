"""Load test of the dashboard: concurrent users moving sliders, on loopback only.

Starts the dashboard in a separate process on ``127.0.0.1`` (``ceasefire serve``, or with small
run limits), then lets ``--users`` threads each move a lever or assumption slider to another of its
discrete positions (one or two steps away, as a person drags or presses an arrow key; the value is
the one the browser's slider sends), send the preview callback the browser would send (a POST to
``/_dash-update-component``), wait for the answer, pause a moment (``--think``) and do it again,
for ``--seconds``. Now and then (``--reload``, 10% of moves) a user reloads the page, which puts
every slider back to its start. A user told "busy — try again in a few seconds" does so: waits
``--retry-after`` (2–4 s) and sends the same settings again (``--retry-after 0 0`` models users who
ignore the message and keep moving sliders at once). Prints the requests, how many were answered with a preview, how
many were refused as busy, how many failed, the latency percentiles and the share of previews
served from the server's cache; exit code 1 if any request failed.

    .venv/bin/python bench/load_dashboard.py --users 50 --seconds 60
    .venv/bin/python bench/load_dashboard.py --users 20 --seconds 8 --small   # what the CI test runs

An answer is *ok* when it is HTTP 200 with a preview (headline cards, a note not starting with
``error:``), *busy* when it is HTTP 200 whose note starts with ``busy`` (the server's polite
refusal: "busy — … try again"), and a *failure* otherwise (an HTTP error, a time-out, a broken
answer, an ``error:`` note).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

HOST = "127.0.0.1"
SMALL_LIMITS = {"preview_samples": 4, "preview_paths": 10, "preview_horizon": 18, "full_max_samples": 4,
                "full_max_paths": 10, "max_horizon": 18}  # fmt: skip
"""Run limits of the ``--small`` server: previews of a fraction of a second, for CI."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


class Server:
    """The dashboard in a child process on ``127.0.0.1:port``; a context manager that always stops it."""

    def __init__(self, limits: dict[str, int] | None = None, scenarios_dir: str | None = None) -> None:
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        if limits is None and scenarios_dir is None:
            command = [sys.executable, "-m", "ceasefire", "serve", "--port", str(self.port)]
        else:
            code = (
                "import sys, json\n"
                "from pathlib import Path\n"
                "from ceasefire.web.app import create_app\n"
                "from ceasefire.web.limits import RunLimits\n"
                "limits = RunLimits(**json.loads(sys.argv[1]))\n"
                "folder = Path(sys.argv[3]) if sys.argv[3] else None\n"
                "create_app(scenarios_dir=folder, limits=limits).run(host='127.0.0.1', port=int(sys.argv[2]),"
                " debug=False)\n"
            )
            command = [sys.executable, "-c", code, json.dumps(limits or {}), str(self.port), scenarios_dir or ""]
        self.command = command
        self.proc: subprocess.Popen[bytes] | None = None
        self.log: Any = None  # the server's stderr (one line per request): a file, never a pipe that can fill up

    def log_tail(self) -> str:
        """The last 2000 characters the server wrote to stderr."""
        if self.log is None:
            return ""
        self.log.seek(0)
        return str(self.log.read().decode(errors="replace")[-2000:])

    def __enter__(self) -> Server:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(self.command, env=env, stdout=subprocess.DEVNULL, stderr=self.log)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the dashboard exited with code {self.proc.returncode}: {self.log_tail()}")
            try:
                with urllib.request.urlopen(self.url + "/", timeout=2) as r:
                    if r.status == 200:
                        return self
            except (urllib.error.URLError, OSError):
                time.sleep(0.2)
        self.__exit__()
        raise RuntimeError("the dashboard did not answer within 120 s")

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if self.log is not None:
            self.log.close()
            self.log = None


def get_json(url: str, timeout: float = 30) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.loads(r.read())


def post(url: str, body: bytes, timeout: float) -> tuple[int, bytes]:
    """POST JSON; ``(status, body)``, HTTP errors included (never raises for a status code)."""
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


@dataclass
class Controls:
    """What the page offers: the preview callback's output string and the sliders' ids and ranges."""

    output: str
    outputs: list[dict[str, str]]
    scenario: str
    levers: list[tuple[str, float, float]]  # id, max, step
    assumptions: list[tuple[str, float, float, float, float]]  # path, low, high, step, neutral

    @classmethod
    def read(cls, url: str, fetch: Callable[[str], Any] | None = None) -> Controls:
        """Read the page's callbacks and layout at ``url`` (``fetch(url)`` returns parsed JSON)."""
        fetch = fetch or get_json
        deps = fetch(url + "/_dash-dependencies")
        preview = next(d for d in deps if d["output"].startswith("..headline.children"))
        outputs = []
        for part in preview["output"].strip(".").split("..."):
            ident, prop = part.rsplit(".", 1)
            outputs.append({"id": ident, "property": prop.split("@")[0]})
        layout = fetch(url + "/_dash-layout")
        found: dict[str, Any] = {"levers": [], "assumptions": [], "scenario": None}

        def walk(node: Any) -> None:
            if isinstance(node, dict):
                props = node.get("props", {})
                ident = props.get("id")
                if isinstance(ident, dict) and ident.get("type") == "lever":
                    found["levers"].append((ident["id"], float(props["max"]), float(props["step"])))
                elif isinstance(ident, dict) and ident.get("type") == "assumption":
                    found["assumptions"].append(
                        (ident["id"], float(props["min"]), float(props["max"]), float(props["step"]),
                         float(props["value"]))
                    )  # fmt: skip
                elif ident == "scenario":
                    found["scenario"] = props["value"]
                for v in node.values():
                    walk(v)
            elif isinstance(node, list):
                for v in node:
                    walk(v)

        walk(layout)
        return cls(preview["output"], outputs, found["scenario"], found["levers"], found["assumptions"])

    def payload(self, scenario: Any, levers: dict[str, float], changes: dict[str, float], changed: str) -> bytes:
        """The body the browser posts when a slider moves (Dash's callback protocol)."""
        lever_ids = [{"id": i, "type": "lever"} for i, _, _ in self.levers]
        assumption_ids = [{"id": p, "type": "assumption"} for p, *_ in self.assumptions]
        doc = {
            "output": self.output,
            "outputs": self.outputs,
            "inputs": [
                {"id": "scenario", "property": "value", "value": scenario},
                [{"id": i, "property": "value", "value": levers.get(i["id"], 0.0)} for i in lever_ids],
                [
                    {"id": i, "property": "value", "value": changes.get(i["id"], a[4])}
                    for i, a in zip(assumption_ids, self.assumptions, strict=True)
                ],
            ],
            "state": [
                [{"id": i, "property": "id", "value": i} for i in lever_ids],
                [{"id": i, "property": "id", "value": i} for i in assumption_ids],
            ],
            "changedPropIds": [changed],
        }
        return json.dumps(doc).encode()

    def random_move(self, rng: random.Random, levers: dict[str, float], changes: dict[str, float]) -> str:
        """Move one slider to another of its positions, one or two steps away; the changed property's id."""
        if self.assumptions and rng.random() < 0.3:
            path, low, high, step, neutral = rng.choice(self.assumptions)
            changes[path] = step_move(rng, changes.get(path, neutral), low, high, step)
            return json.dumps({"id": path, "type": "assumption"}, separators=(",", ":")) + ".value"
        ident, top, step = rng.choice(self.levers)
        levers[ident] = step_move(rng, levers.get(ident, 0.0), 0.0, top, step)
        return json.dumps({"id": ident, "type": "lever"}, separators=(",", ":")) + ".value"


def slider_value(low: float, step: float, k: int) -> float:
    """The value a slider from ``low`` in steps of ``step`` sends at position ``k`` (rounded to the
    step's decimals, as the browser's slider rounds it)."""
    decimals = max(_decimals(step), _decimals(low))
    return round(low + k * step, decimals) + 0.0  # + 0.0: no -0.0


def _decimals(x: float) -> int:
    text = repr(float(x))
    return 0 if "e" in text else len(text.split(".")[1].rstrip("0"))


def step_move(rng: random.Random, value: float, low: float, high: float, step: float) -> float:
    """A position one or two steps from ``value`` (kept on the slider): what a person drags to."""
    top = round((high - low) / step)
    k = round((value - low) / step)
    moves = [d for d in (-2, -1, 1, 2) if 0 <= k + d <= top]
    return slider_value(low, step, k + rng.choice(moves))


OK, BUSY, FAILED = "ok", "busy", "failed"
CACHED, SHARED, COMPUTED = "cached", "shared", "computed"


def classify(status: int, body: bytes) -> tuple[str, str]:
    """``(OK, where the preview came from)``, ``(BUSY, the message)`` or ``(FAILED, what was wrong)``."""
    if status != 200:
        return FAILED, f"HTTP {status}"
    try:
        answer = json.loads(body)["response"]
        note = answer["preview-note"]["children"]
    except (ValueError, KeyError, TypeError) as e:
        return FAILED, f"unexpected answer ({type(e).__name__}: {str(e)[:80]})"
    if isinstance(note, str) and note.startswith("busy"):
        return BUSY, note
    if not isinstance(note, str) or note.startswith("error:"):
        return FAILED, f"preview failed: {str(note)[:120]}"
    cards = answer.get("headline", {}).get("children")
    if not cards:
        return FAILED, "no headline cards"
    source = CACHED if "(from the cache)" in note else SHARED if "(shared with" in note else COMPUTED
    return OK, source


def preview_ok(status: int, body: bytes) -> str | None:
    """``None`` for a preview answer, else what was wrong (a busy refusal included)."""
    kind, detail = classify(status, body)
    return None if kind == OK else f"{kind}: {detail}"


@dataclass
class Load:
    latencies: list[float] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    busy: list[str] = field(default_factory=list)
    moves: list[float] = field(default_factory=list)  # seconds from a slider move to its preview, retries included
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, seconds: float, kind: str, detail: str) -> None:
        with self.lock:
            self.latencies.append(seconds)
            self.kinds.append(kind)
            if kind == OK:
                self.sources.append(detail)
            elif kind == BUSY:
                self.busy.append(detail)
            else:
                self.failures.append(detail)


def percentiles(values: list[float]) -> dict[str, float | None]:
    """p50, p90, p99 (nearest rank) and max of ``values`` in seconds; ``None`` when there are none."""
    xs = sorted(values)
    if not xs:
        return {"p50": None, "p90": None, "p99": None, "max": None}

    def pct(q: float) -> float:
        return round(xs[min(len(xs) - 1, round(q / 100 * (len(xs) - 1)))], 3)

    return {"p50": pct(50), "p90": pct(90), "p99": pct(99), "max": round(xs[-1], 3)}


def run_load(url: str, users: int, seconds: float, think: tuple[float, float] = (0.2, 1.0), seed: int = 0,
             timeout: float = 300.0, reload: float = 0.1,
             retry_after: tuple[float, float] = (2.0, 4.0)) -> dict[str, Any]:  # fmt: skip
    """``users`` threads moving sliders for ``seconds``: counts, latency percentiles (seconds), cache hits.

    Each user reloads the page (all sliders back to their start) with probability ``reload`` per move,
    pauses ``think`` seconds after an answer, and after a busy answer pauses ``retry_after`` seconds
    instead and sends the same settings again.
    """
    if not url.startswith(f"http://{HOST}:"):
        raise ValueError(f"load tests run on loopback only ({HOST}), not {url}")
    controls = Controls.read(url)
    target = url + "/_dash-update-component"
    # warm up: the first preview computes the scenario's baseline
    status, body = post(target, controls.payload(controls.scenario, {}, {}, "scenario.value"), timeout)
    warm = preview_ok(status, body)
    if warm is not None:
        raise RuntimeError(f"the first preview failed: {warm}")
    load = Load()
    stop = time.monotonic() + seconds

    def user(k: int) -> None:
        rng = random.Random(seed * 1_000_003 + k)
        levers: dict[str, float] = {}
        changes: dict[str, float] = {}
        kind = OK
        body = b""
        moved = time.perf_counter()
        while time.monotonic() < stop:
            if kind != BUSY:  # else: the same settings again
                moved = time.perf_counter()
                if rng.random() < reload:
                    levers.clear()
                    changes.clear()
                    changed = "scenario.value"
                else:
                    changed = controls.random_move(rng, levers, changes)
                body = controls.payload(controls.scenario, levers, changes, changed)
            t0 = time.perf_counter()
            try:
                status, answer = post(target, body, timeout)
                kind, detail = classify(status, answer)
            except (OSError, urllib.error.URLError) as e:
                kind, detail = FAILED, f"{type(e).__name__}: {e}"
            load.record(time.perf_counter() - t0, kind, detail)
            if kind == OK:
                with load.lock:
                    load.moves.append(time.perf_counter() - moved)
            time.sleep(rng.uniform(*(retry_after if kind == BUSY else think)))

    started = time.monotonic()
    threads = [threading.Thread(target=user, args=(k,), daemon=True) for k in range(users)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=seconds + timeout + 30)
    wall = time.monotonic() - started
    with load.lock:
        n, kinds, sources = len(load.latencies), list(load.kinds), list(load.sources)
        lat = list(load.latencies)
    ok = kinds.count(OK)
    hits = sources.count(CACHED) + sources.count(SHARED)
    return {
        "users": users,
        "seconds": seconds,
        "wall_seconds": round(wall, 2),
        "requests": n,
        "ok": ok,
        "busy": kinds.count(BUSY),
        "failed": kinds.count(FAILED),
        "failures": load.failures[:20],
        "busy_messages": sorted(set(load.busy))[:5],
        "requests_per_second": round(n / wall, 2) if wall > 0 else None,
        **percentiles(lat),
        "ok_latency": percentiles([x for x, k in zip(lat, kinds, strict=True) if k == OK]),
        "busy_latency": percentiles([x for x, k in zip(lat, kinds, strict=True) if k == BUSY]),
        "moves_answered": len(load.moves),
        "move_to_preview": percentiles(load.moves),
        "computed": sources.count(COMPUTED),
        "cached": sources.count(CACHED),
        "shared": sources.count(SHARED),
        "cache_hit_rate": round(hits / ok, 3) if ok else None,
        "think_seconds": list(think),
        "reload": reload,
        "retry_after_seconds": list(retry_after),
        "unfinished_users": sum(t.is_alive() for t in threads),
    }


def _s(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.2f} s"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--think", type=float, nargs=2, default=(0.2, 1.0), metavar=("MIN", "MAX"))
    parser.add_argument("--reload", type=float, default=0.1, help="chance per move that a user reloads the page")
    parser.add_argument(
        "--retry-after",
        type=float,
        nargs=2,
        default=(2.0, 4.0),
        metavar=("MIN", "MAX"),
        help="seconds a user waits after 'busy — try again' before sending the same settings again",
    )
    parser.add_argument("--small", action="store_true", help="small run limits (previews of a fraction of a second)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    with Server(SMALL_LIMITS if args.small else None) as server:
        stats = run_load(
            server.url,
            args.users,
            args.seconds,
            tuple(args.think),
            args.seed,
            reload=args.reload,
            retry_after=tuple(args.retry_after),
        )
    stats["server"] = "small limits" if args.small else "ceasefire serve (default limits)"
    stats["cpus"] = os.cpu_count()
    stats["load_average"] = [round(x, 2) for x in os.getloadavg()]
    print(
        f"{stats['users']} users x {stats['seconds']:g} s ({stats['server']}, {stats['cpus']} CPUs, load average "
        f"{stats['load_average'][0]:.1f} at the end): {stats['requests']} requests, {stats['ok']} ok, "
        f"{stats['busy']} busy-refused, {stats['failed']} failed; {stats['requests_per_second']} per second"
    )
    print(
        f"latency (all) p50 {_s(stats['p50'])}, p90 {_s(stats['p90'])}, p99 {_s(stats['p99'])}, "
        f"max {_s(stats['max'])}; ok only p50 {_s(stats['ok_latency']['p50'])}, p90 {_s(stats['ok_latency']['p90'])}, "
        f"p99 {_s(stats['ok_latency']['p99'])}, max {_s(stats['ok_latency']['max'])}"
    )
    m = stats["move_to_preview"]
    print(
        f"slider move to its preview, busy retries included ({stats['moves_answered']} moves): p50 {_s(m['p50'])}, "
        f"p90 {_s(m['p90'])}, p99 {_s(m['p99'])}, max {_s(m['max'])}"
    )
    rate = stats["cache_hit_rate"]
    print(
        f"previews: {stats['computed']} computed, {stats['cached']} from the cache, {stats['shared']} shared with an "
        f"identical request in flight; cache hit rate {'n/a' if rate is None else f'{100 * rate:.1f}%'}"
    )
    for m in stats["busy_messages"]:
        print("  busy:", m)
    for f in stats["failures"]:
        print("  failure:", f)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(stats, fh, indent=1)
    return 1 if stats["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
