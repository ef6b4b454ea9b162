"""Faults lose nothing: SIGKILL, a dead Dask worker, a full disk and a read-only folder.

Each test shows that the results finished before the fault survive intact (bit for bit equal
to an uninterrupted run), that the error says what happened (exit code 2 through the command
line, no traceback), and that ``--resume`` completes with bit-identical results.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from ceasefire.cli import app
from ceasefire.run import store
from ceasefire.run.executor import DaskExecutor, executor_for
from ceasefire.run.sweep import SweepError, SweepSpec, latin_hypercube, run_sweep
from ceasefire.scenario.load import load_scenario

FLAGSHIP = "russia-ukraine-2026"
ROWS, PATHS, HORIZON, SEED = 12, 6, 12, 21
ARGS = [FLAGSHIP, "-n", str(ROWS), "--paths", str(PATHS), "--horizon", str(HORIZON), "--seed", str(SEED),
        "--policy", "myopic", "--chunk-rows", "1", "--workers", "1", "-q"]  # fmt: skip
runner = CliRunner()


@pytest.fixture(scope="module")
def sc() -> Any:
    return load_scenario(FLAGSHIP)


@pytest.fixture(scope="module")
def spec(sc: Any) -> SweepSpec:
    return SweepSpec.from_scenario(sc, paths=PATHS, horizon=HORIZON, seed=SEED, policy="myopic")


@pytest.fixture(scope="module")
def design(sc: Any) -> pd.DataFrame:
    return latin_hypercube(sc, ROWS, SEED)


@pytest.fixture(scope="module")
def reference(sc: Any, spec: SweepSpec, design: pd.DataFrame) -> pd.DataFrame:
    """The uninterrupted sweep, in memory, in one chunk."""
    return run_sweep(sc, design, spec, chunk_rows=ROWS)


def parts_intact(out: Path, reference: pd.DataFrame) -> int:
    """Every part on disk is complete and bit-identical to the reference rows; returns how many there are."""
    n = 0
    for part in sorted(out.glob("part-*.parquet")):
        frame = pq.read_table(part).to_pandas()
        rows = frame["row"].to_numpy()
        expected = reference.loc[rows]
        got = frame.set_index("row")[list(reference.columns)]
        assert got.to_numpy().tobytes() == expected.to_numpy().tobytes(), part.name
        n += 1
    return n


def results_identical(out: Path, reference: pd.DataFrame) -> None:
    results = pd.read_parquet(out / "results.parquet")
    assert results[list(reference.columns)].to_numpy().tobytes() == reference.to_numpy().tobytes()


def squash(text: str) -> str:
    """Text without any whitespace: Rich wraps long messages at the terminal's width, even inside words."""
    return "".join(text.split())


class Message(str):
    """A CLI message that contains a needle whatever the line wrapping."""

    def __contains__(self, needle: object) -> bool:
        return isinstance(needle, str) and squash(needle) in squash(str(self))


def cli_error(result: Any) -> Message:
    assert result.exit_code == 2, result.output
    assert result.output.lstrip().startswith("error:"), result.output
    assert "Traceback" not in result.output
    return Message(result.output)


# -- SIGKILL at random moments -----------------------------------------------------------------


def _sweep_process(out: Path, resume: bool) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    command = [sys.executable, "-m", "ceasefire", "sweep", *ARGS, "--out", str(out), *(["--resume"] if resume else [])]
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_sigkill_at_random_moments_loses_nothing(tmp_path: Path, reference: pd.DataFrame) -> None:
    """Kill the sweep twice (the start, then the resumed run) at moments drawn at random, then resume."""
    out = tmp_path / "killed"
    rng = np.random.default_rng(20260201)  # reproducible "random" moments
    kept: list[int] = []
    for attempt in range(2):
        # a moment between the interpreter's start and the sweep's likely end, or one part after the other
        proc = _sweep_process(out, resume=attempt > 0)
        try:
            before = len(list(out.glob("part-*.parquet")))
            wait_parts = int(rng.integers(0, 4))
            extra = float(rng.uniform(0.0, 0.3))
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline and proc.poll() is None:
                if len(list(out.glob("part-*.parquet"))) >= before + wait_parts:
                    break
                time.sleep(0.01)
            time.sleep(extra)
            proc.send_signal(signal.SIGKILL)
        finally:
            proc.wait(timeout=30)
        kept.append(parts_intact(out, reference) if out.exists() else 0)
        print(f"kill {attempt + 1}: after {wait_parts} more part(s) + {extra:.3f} s, {kept[-1]} of {ROWS} parts intact")
    assert kept == sorted(kept)  # a kill never destroys a finished part
    result = runner.invoke(app, ["sweep", *ARGS, "--out", str(out), "--resume"])
    assert result.exit_code == 0, result.output
    assert parts_intact(out, reference) == ROWS
    results_identical(out, reference)
    assert not list(out.glob(".*.tmp"))


# -- a Dask worker killed mid-task ---------------------------------------------------------------


def test_a_dask_worker_killed_mid_task(
    sc: Any, spec: SweepSpec, design: pd.DataFrame, reference: pd.DataFrame, tmp_path: Path
) -> None:
    """SIGKILL a worker process while it evaluates a chunk: Dask reruns the chunk elsewhere (same
    numbers), or gives up with a clear error and ``resume`` finishes; either way nothing is lost."""
    from distributed import Client, LocalCluster

    out = tmp_path / "dask"
    killed: list[int] = []
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, host="127.0.0.1"
        ) as cluster,
        Client(cluster) as client,
    ):
        pids: dict[str, int] = client.run(os.getpid)

        def kill_a_busy_worker(done: int, total: int) -> None:
            if killed or done < 2:
                return
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                busy = [w for w, tasks in client.processing().items() if tasks and w in pids]
                if busy:
                    os.kill(pids[busy[0]], signal.SIGKILL)
                    killed.append(pids[busy[0]])
                    return
                time.sleep(0.005)

        executor = DaskExecutor(client)  # the same client: one event loop in this process
        try:
            table = run_sweep(sc, design, spec, executor=executor, chunk_rows=1, out=out, progress=kill_a_busy_worker)
            outcome = "rescheduled"
        except SweepError as e:
            assert "died" in str(e) and "--resume" in str(e)
            outcome = "gave up"
            assert parts_intact(out, reference) >= 2
            table = run_sweep(sc, design, spec, executor=executor_for(1), out=out, resume=True)
    assert killed, "no worker was busy to kill"
    print(f"killed worker process {killed[0]} mid-task; Dask {outcome}")
    assert outcome in ("rescheduled", "gave up")
    assert table.to_numpy().tobytes() == reference.to_numpy().tobytes()
    assert parts_intact(out, reference) == ROWS
    results_identical(out, reference)


# -- a full disk --------------------------------------------------------------------------------


def _failing_writes(monkeypatch: pytest.MonkeyPatch, after: int, error: int, where: Callable[[str], bool]) -> list[str]:
    """Make Parquet writes fail like a full disk: the first ``after`` succeed, later ones write half a file
    into the temporary path, then raise ``OSError(error)``."""
    original = pq.write_table
    calls: list[str] = []

    def write_table(table: Any, path: Any, *args: Any, **kwargs: Any) -> None:
        if not where(str(path)):
            return original(table, path, *args, **kwargs)
        calls.append(str(path))
        if len(calls) <= after:
            return original(table, path, *args, **kwargs)
        Path(path).write_bytes(b"PAR1 half a file")
        raise OSError(error, os.strerror(error), str(path))

    monkeypatch.setattr(pq, "write_table", write_table)
    return calls


def test_a_full_disk_stops_the_sweep_cleanly(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, reference: pd.DataFrame
) -> None:
    out = tmp_path / "full"
    calls = _failing_writes(monkeypatch, after=4, error=errno.ENOSPC, where=lambda p: ".part-" in p)
    result = runner.invoke(app, ["sweep", *ARGS, "--out", str(out)])
    message = cli_error(result)
    assert "No space left on device" in message and "could not write part" in message
    assert "--resume" in message
    assert len(calls) == 5
    assert parts_intact(out, reference) == 4  # the four written before the disk filled up
    assert not list(out.glob(".*.tmp"))  # the half-written temporary file is gone
    assert not (out / "results.parquet").exists()
    monkeypatch.undo()
    result = runner.invoke(app, ["sweep", *ARGS, "--out", str(out), "--resume"])
    assert result.exit_code == 0, result.output
    results_identical(out, reference)


def test_a_full_disk_when_writing_the_results_keeps_every_part(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, reference: pd.DataFrame
) -> None:
    out = tmp_path / "full-at-the-end"
    original = pd.DataFrame.to_parquet

    def to_parquet(self: pd.DataFrame, path: Any, *args: Any, **kwargs: Any) -> Any:
        if ".results." in str(path):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return original(self, path, *args, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "to_parquet", to_parquet)
    message = cli_error(runner.invoke(app, ["sweep", *ARGS, "--out", str(out)]))
    assert "No space left on device" in message and "results.parquet" in message
    assert parts_intact(out, reference) == ROWS
    monkeypatch.undo()
    assert runner.invoke(app, ["sweep", *ARGS, "--out", str(out), "--resume"]).exit_code == 0
    results_identical(out, reference)


def test_a_full_disk_never_tears_an_earlier_run_output(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """``ceasefire run --json/--parquet``: an earlier result at the same path survives a failed write intact."""
    target, table = tmp_path / "r.json", tmp_path / "r.parquet"
    args = ["run", FLAGSHIP, "--samples", "2", "--paths", "4", "--horizon", "12", "--no-compare-beliefs", "-q"]
    assert runner.invoke(app, [*args, "--json", str(target), "--parquet", str(table)]).exit_code == 0
    before_json, before_pq = target.read_bytes(), table.read_bytes()
    original = Path.write_text

    def write_text(self: Path, *a: Any, **k: Any) -> int:
        if self.name.startswith(".r.json."):
            original(self, "{half", encoding="utf-8")
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self))
        return original(self, *a, **k)

    monkeypatch.setattr(Path, "write_text", write_text)
    _failing_writes(monkeypatch, after=0, error=errno.ENOSPC, where=lambda p: ".r.parquet." in p)
    message = cli_error(runner.invoke(app, [*args, "--seed", "3", "--json", str(target)]))
    assert "No space left on device" in message
    message = cli_error(runner.invoke(app, [*args, "--seed", "3", "--parquet", str(table)]))
    assert "No space left on device" in message
    assert target.read_bytes() == before_json and table.read_bytes() == before_pq
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json", "r.parquet"]


# -- a read-only output folder ------------------------------------------------------------------


def _read_only(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """Make ``folder`` read-only. Root ignores permission bits, so as root (CI containers) the creation
    of files in it is refused by a patched ``tempfile.mkstemp``/``os.open`` the way a read-only mount
    refuses it (``EROFS``); otherwise by ``chmod``."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        return
    original_mkstemp, original_open = tempfile.mkstemp, os.open

    def refused(path: Any) -> bool:
        return Path(path).resolve().is_relative_to(folder.resolve())

    def mkstemp(*args: Any, **kwargs: Any) -> tuple[int, str]:
        if refused(kwargs.get("dir") or (args[2] if len(args) > 2 else tempfile.gettempdir())):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(folder))
        return original_mkstemp(*args, **kwargs)

    def open_(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT) and refused(path):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
        return original_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
    monkeypatch.setattr(os, "open", open_)


def test_a_read_only_folder_is_reported_and_left_as_it_was(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, reference: pd.DataFrame
) -> None:
    out = tmp_path / "ro"
    # a sweep interrupted after three parts
    done: list[int] = []

    def stop_after_three(d: int, total: int) -> None:
        done.append(d)
        if d >= 3:
            raise KeyboardInterrupt

    sc = load_scenario(FLAGSHIP)
    spec = SweepSpec.from_scenario(sc, paths=PATHS, horizon=HORIZON, seed=SEED, policy="myopic")
    with pytest.raises(KeyboardInterrupt):
        run_sweep(sc, latin_hypercube(sc, ROWS, SEED), spec, chunk_rows=1, out=out, progress=stop_after_three)
    snapshot = {p.name: p.read_bytes() for p in out.iterdir()}
    assert parts_intact(out, reference) == 3
    _read_only(monkeypatch, out)
    message = cli_error(runner.invoke(app, ["sweep", *ARGS, "--out", str(out), "--resume"]))
    assert "Read-only file system" in message or "Permission denied" in message
    assert "the parts written before are intact" in message or "cannot prepare" in message
    assert {p.name: p.read_bytes() for p in out.iterdir()} == snapshot  # nothing changed, nothing lost
    monkeypatch.undo()
    out.chmod(0o755)
    assert runner.invoke(app, ["sweep", *ARGS, "--out", str(out), "--resume"]).exit_code == 0
    results_identical(out, reference)


def test_a_read_only_folder_for_a_run_result(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    _read_only(monkeypatch, folder)
    args = ["run", FLAGSHIP, "--samples", "2", "--paths", "4", "--horizon", "12", "--no-compare-beliefs", "-q"]
    message = cli_error(runner.invoke(app, [*args, "--json", str(folder / "r.json")]))
    assert "could not write" in message and "r.json" in " ".join(message.split()).replace("/ ", "/")
    assert "Read-only file system" in message or "Permission denied" in message
    assert list(folder.iterdir()) == []


# -- writes are atomic --------------------------------------------------------------------------


def test_write_atomic_leaves_the_old_file_or_the_new_one(tmp_path: Path) -> None:
    path = tmp_path / "doc.json"
    store.write_json(path, {"a": 1})
    for fault in (OSError(errno.ENOSPC, "No space left on device"), KeyboardInterrupt()):

        def half(p: Path, fault: BaseException = fault) -> None:
            p.write_text('{"a": 2', encoding="utf-8")
            raise fault

        with pytest.raises(type(fault)):
            store.write_atomic(path, half)
        assert json.loads(path.read_text()) == {"a": 1}
        assert [p.name for p in tmp_path.iterdir()] == ["doc.json"]
    store.write_json(path, {"a": 3})
    assert json.loads(path.read_text()) == {"a": 3}
    assert oct(path.stat().st_mode & 0o777) != "0o600"  # the usual permissions, not mkstemp's
