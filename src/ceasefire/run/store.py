"""Writing results: JSON and Parquet, atomically (a temporary file, then a rename)."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ceasefire.run.experiment import RunResult
from ceasefire.run.jsonsafe import json_safe
from ceasefire.run.platform import numerical_platform
from ceasefire.run.summary import Summary
from ceasefire.scenario.load import scenario_digest
from ceasefire.scenario.schema import SIDES


def manifest(result: RunResult, scenario_sha256: str | None) -> dict[str, Any]:
    """What a result was made from: enough to reproduce it.

    ``scenario_sha256`` is the file's bytes (when the run came from a file);
    ``scenario_model_sha256`` the validated scenario's, as in a sweep's manifest.
    """
    spec = result.spec
    return {
        "scenario": result.scenario.scenario.id,
        "scenario_sha256": scenario_sha256,
        "scenario_model_sha256": scenario_digest(result.scenario),
        "seed": spec.seed,
        "samples": spec.samples,
        "samples_drawn": result.samples_drawn,
        "paths": spec.paths,
        "horizon": spec.horizon,
        "lookahead": spec.lookahead,
        "policy": spec.policy,
        "beliefs": spec.beliefs,
        "levers": dict(spec.levers),
        "version": result.version,
        "backend": spec.backend,
        "platform": numerical_platform(),
    }


def per_path_frame(result: RunResult) -> pd.DataFrame:
    """One row per simulated path."""
    o = result.outcomes
    n = o.sample.size
    names = [*result.terms, None]
    terms = [names[k] for k in np.where(o.first_terms >= 0, o.first_terms, len(result.terms))]
    cols: dict[str, Any] = {
        "sample": o.sample,
        "path": np.tile(np.arange(result.spec.paths), n // result.spec.paths),
        "first_settlement_month": o.first_settlement,
        "terms": pd.array(terms, dtype="string"),
        "under_successor": o.under_successor,
        "held_km2_at_end": o.held_at_end,
        "ceasefire_months": o.ceasefire_months,
        "ceasefire_broke": o.ceasefire_broke,
        "ceasefire_monthly_breakdown": o.ceasefire_break_rate,
        "settlements": o.settlements,
        "breakdowns": o.breakdowns,
        "at_war_at_horizon": o.at_war_at_end,
    }
    for s in SIDES:
        cols[f"casualties_{s}_to_settlement"] = o.casualties_to_settlement[s]
        cols[f"casualties_{s}_horizon"] = o.casualties_total[s]
        cols[f"removed_{s}"] = o.removed[s]
        cols[f"removal_month_{s}"] = o.removal_month[s]
    for j, obj in enumerate(result.scenario.objectives):
        cols[f"objective_{obj.id}"] = o.objectives_taken[:, j]
    return pd.DataFrame(cols)


def write_atomic(path: Path, write: Callable[[Path], object]) -> None:
    """Write through a temporary file in the same folder, then rename over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the result the usual permissions
    try:
        write(Path(tmp))
        _fsync(tmp)  # the bytes reach the disk before the name does: no torn file after a crash
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync(path.parent, directory=True)


def _fsync(path: str | Path, directory: bool = False) -> None:
    """Flush a file (or a folder's entries) to the disk; where a platform cannot, skip it."""
    try:
        fd = os.open(path, (os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)) if directory else os.O_RDWR)
    except OSError:
        if directory:
            return  # e.g. Windows cannot open a folder
        raise
    try:
        os.fsync(fd)
    except OSError:
        if not directory:
            raise
    finally:
        os.close(fd)


def result_document(result: RunResult, summary: Summary, scenario_sha256: str | None, per_path: bool) -> dict[str, Any]:
    doc: dict[str, Any] = {"manifest": manifest(result, scenario_sha256), "summary": summary.to_dict()}
    if per_path:
        frame = per_path_frame(result)
        doc["paths"] = {c: [None if v is pd.NA else v for v in frame[c].tolist()] for c in frame.columns}
    return json_safe(doc)  # type: ignore[no-any-return]


def write_json(path: Path, document: dict[str, Any]) -> None:
    text = json.dumps(document, indent=1, allow_nan=False)
    write_atomic(path, lambda p: p.write_text(text, encoding="utf-8"))


def write_parquet(path: Path, result: RunResult, summary: Summary, scenario_sha256: str | None) -> None:
    """Per-path outcomes, with the manifest and the summary in the file's metadata."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(per_path_frame(result), preserve_index=False)
    meta = dict(table.schema.metadata or {})
    meta[b"ceasefire.manifest"] = json.dumps(manifest(result, scenario_sha256)).encode()
    meta[b"ceasefire.summary"] = json.dumps(json_safe(summary.to_dict()), allow_nan=False).encode()
    table = table.replace_schema_metadata(meta)
    write_atomic(path, lambda p: pq.write_table(table, p))
