"""Writing results: JSON and Parquet, safely for every kind of target.

A regular file is written atomically (a temporary file, then a rename); standard output (``-``), a
device or a pipe is written in place and never replaced; a symbolic link is followed; a missing
folder is an error unless asked to create it (:func:`write_atomic`).
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import stat
import sys
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ceasefire.errors import CeasefireError
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
        **{k: getattr(spec, k) for k in ("paths", "horizon", "lookahead", "policy", "beliefs")},
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


STDOUT = "-"
"""The target that means standard output."""

_COPY_CHUNK = 1 << 20


class OutputError(CeasefireError, OSError):
    """A target that cannot be written as asked (a missing folder, a folder as target, a link loop).

    An :class:`OSError` too (``errno``, ``strerror``, ``filename``), so that callers reporting write
    failures report it the same way.
    """


def resolve_target(path: Path | str, parents: bool = False) -> tuple[Path, bool]:
    """``(where to write, whether in place)`` for an output target, or :class:`OutputError`.

    A symbolic link is followed (a dangling one to where it points); a folder is refused; a device, a
    pipe or a socket is written in place (``True``), never replaced; anything else is a regular file
    (or none yet), written atomically. A missing parent folder is an error unless ``parents``.
    """
    path = Path(path)
    if path.is_symlink():
        try:
            path = Path(os.path.realpath(path, strict=True))
        except FileNotFoundError:
            path = Path(os.path.realpath(path))
        except OSError as e:  # a loop of links
            raise OutputError(e.errno or errno.ELOOP, f"{path} is a symbolic link that leads nowhere ({e.strerror})",
                              str(path)) from None  # fmt: skip
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        mode = None
    if mode is not None and stat.S_ISDIR(mode):
        raise OutputError(errno.EISDIR, f"{path} is a folder; give a file name", str(path))
    if mode is not None and not stat.S_ISREG(mode):
        return path, True
    parent = path.parent
    if not parent.is_dir():
        if parents and not parent.exists():
            parent.mkdir(parents=True, exist_ok=True)
        else:
            what = "is not a folder" if parent.exists() else "does not exist"
            raise OutputError(errno.ENOENT, f"the folder {parent} {what} (create it first)", str(path))
    return path, False


def write_atomic(path: Path | str, write: Callable[[Path], object], parents: bool = False) -> None:
    """Write an output through ``write(temporary path)``, safely for every kind of target.

    A regular file (or a new one) is written atomically: a temporary file in the same folder, flushed,
    renamed over the target (keeping an existing file's permissions). ``-`` is standard output; a
    device, a pipe or a socket is written in place, streamed from a temporary file, and never replaced.
    Symbolic links are followed. A missing folder is an :class:`OutputError` unless ``parents``.
    """
    if str(path) == STDOUT:
        _write_streamed(None, write)
        return
    target, in_place = resolve_target(path, parents)
    if in_place:
        _write_streamed(target, write)
        return
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        os.chmod(tmp, _mode_for(target))
        write(Path(tmp))
        _fsync(tmp)  # the bytes reach the disk before the name does: no torn file after a crash
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync(target.parent, directory=True)


def _mode_for(target: Path) -> int:
    """An existing file's permissions, else the usual ones (``mkstemp`` makes 0600)."""
    try:
        return stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _write_streamed(target: Path | None, write: Callable[[Path], object]) -> None:
    """Write into a temporary file elsewhere, then copy it into ``target`` (standard output if None) in place."""
    fd, tmp = tempfile.mkstemp(prefix=".ceasefire.", suffix=".tmp")
    os.close(fd)
    try:
        write(Path(tmp))
        with open(tmp, "rb") as src:
            if target is None:
                sys.stdout.flush()
                shutil.copyfileobj(src, sys.stdout.buffer, _COPY_CHUNK)
                sys.stdout.buffer.flush()
            else:
                with open(target, "wb") as dst:  # a device or a pipe: opened as it is, not created
                    shutil.copyfileobj(src, dst, _COPY_CHUNK)
    finally:
        Path(tmp).unlink(missing_ok=True)


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


def write_json(path: Path | str, document: dict[str, Any], parents: bool = False) -> None:
    """``document`` as JSON (NaN and infinity refused), written by :func:`write_atomic`."""
    text = json.dumps(document, indent=1, allow_nan=False)
    write_atomic(path, lambda p: p.write_text(text, encoding="utf-8"), parents)


def nan_as_null(columns: Mapping[str, Any]) -> Any:
    """An Arrow table of ``columns`` (arrays by name) in which every float NaN is a null.

    NaN marks a metric that does not exist (a ceasefire's survival where none was signed): in a
    Parquet file that is a null, which every reader sees as missing, where a NaN would pass for a
    number. (``pandas.DataFrame.to_parquet`` and ``pyarrow.Table.from_pandas`` do this already;
    ``pyarrow.table`` on NumPy arrays does not.)
    """
    import pyarrow as pa

    return pa.table({name: pa.array(np.asarray(v), from_pandas=True) for name, v in columns.items()})


def write_parquet(
    path: Path | str, result: RunResult, summary: Summary, scenario_sha256: str | None, parents: bool = False
) -> None:
    """Per-path outcomes, with the manifest and the summary in the file's metadata."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(per_path_frame(result), preserve_index=False)
    meta = dict(table.schema.metadata or {})
    meta[b"ceasefire.manifest"] = json.dumps(manifest(result, scenario_sha256)).encode()
    meta[b"ceasefire.summary"] = json.dumps(json_safe(summary.to_dict()), allow_nan=False).encode()
    table = table.replace_schema_metadata(meta)
    write_atomic(path, lambda p: pq.write_table(table, p), parents)
