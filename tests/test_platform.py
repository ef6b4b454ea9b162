"""The numerical platform recorded in manifests: NumPy's CPU dispatch and the BLAS kernels."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from ceasefire.run.platform import numerical_platform

PRINT = "import json; from ceasefire.run.platform import numerical_platform as p; print(json.dumps(p()))"


def _in_child(**env: str) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-c", PRINT], env={**os.environ, **env}, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def test_records_versions_and_is_json() -> None:
    found = numerical_platform()
    assert found["numpy"] == np.__version__
    assert json.loads(json.dumps(found)) == found
    assert all(set(lib) == {"library", "version", "architecture"} for lib in found["blas"])


def test_follows_what_decides_the_last_bits() -> None:
    """Pinning OpenBLAS's kernels or switching NumPy's newest dispatch targets off shows in the record."""
    here = _in_child()
    simd = here["numpy_simd"]
    assert isinstance(simd, list)
    blas = here["blas"]
    assert isinstance(blas, list)
    if "X86_V3" in simd and any(lib["library"] == "openblas" for lib in blas):  # AVX2: Haswell kernels run
        pinned = _in_child(OPENBLAS_CORETYPE="Haswell")["blas"]
        assert isinstance(pinned, list)
        assert {lib["architecture"].lower() for lib in pinned if lib["library"] == "openblas"} == {"haswell"}
    if simd:  # a CPU with dispatch targets beyond NumPy's baseline
        fewer = _in_child(NPY_DISABLE_CPU_FEATURES=" ".join(simd[1:]))
        assert fewer["numpy_simd"] == simd[:1]


def test_run_and_sweep_manifests_record_it_and_resume_ignores_it(tmp_path: Path) -> None:
    """Run and sweep manifests carry the platform; a sweep resumed elsewhere (another platform
    recorded) is not refused for it: the record says where each part was computed, it decides nothing."""
    from ceasefire.run.experiment import RunSpec, run
    from ceasefire.run.store import manifest
    from ceasefire.run.sweep import MANIFEST, SweepSpec, latin_hypercube, read_manifest, run_sweep
    from ceasefire.scenario.load import load_scenario

    sc = load_scenario("russia-ukraine-2026")
    result = run(sc, RunSpec.from_scenario(sc, samples=2, paths=10, horizon=3, seed=1))
    assert manifest(result, None)["platform"] == numerical_platform()
    design = latin_hypercube(sc, 2, seed=3)
    spec = SweepSpec.from_scenario(sc, paths=4, horizon=3, seed=7)
    first = run_sweep(sc, design, spec, out=tmp_path)
    doc = read_manifest(tmp_path)
    assert doc["platform"] == numerical_platform()
    doc["platform"] = {**doc["platform"], "numpy_simd": ["ANOTHER_CPU"]}
    (tmp_path / MANIFEST).write_text(json.dumps(doc), encoding="utf-8")
    again = run_sweep(sc, design, spec, out=tmp_path, resume=True)
    assert again.equals(first)
