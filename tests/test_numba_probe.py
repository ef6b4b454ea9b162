"""The compiled-kernel probe (bench/numba_probe.py) computes the engine's war: run as plain Python
(CI has no Numba), its loop over paths and months gives the engine's territory, casualties and
months of removal on the engine's own random numbers, so its measurements are of the same model."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from ceasefire.model.engine import RunConfig, per_path, simulate
from ceasefire.run.sampling import Seeds, sample_parameters
from ceasefire.scenario.schema import SIDES

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import numba_probe
from jax_backend import flagship

PATHS, HORIZON = 60, 24


@pytest.mark.parametrize("sample", [0, 1, 2])
def test_kernel_follows_the_engine_path_by_path(sample: int) -> None:
    sc = flagship()
    seeds = Seeds.from_seed(11)
    values = sample_parameters(sc, 3, seeds.parameters)
    params = per_path({k: v[sample : sample + 1] for k, v in values.items()}, PATHS)
    seed = seeds.path_seed(sample)
    config = RunConfig(horizon=HORIZON, allow_settlement=False, bargaining_range=False)
    out = simulate(sc, params, [seed], PATHS, config)

    kernel = numba_probe.make_kernel(parallel=False)
    held, cas, removal = numba_probe.war_outcomes(kernel, sc, params, seed, PATHS, HORIZON)

    np.testing.assert_allclose(held, out.held_at_end, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(cas, np.stack([out.casualties_total[s] for s in SIDES]), rtol=1e-12)
    months = np.stack([out.removal_month[s] for s in SIDES])
    assert (months >= 0).any()  # some leader falls: the hazard's arithmetic is tested too
    np.testing.assert_array_equal(removal, months)


def test_kernel_reads_every_parameter_row_it_declares() -> None:
    """The rows' constants are the rows' positions: a row added or moved without its constant would
    make the kernel read another parameter."""
    assert numba_probe.RESERVES == len(numba_probe.SIDE_ROWS) - 1
    for name, j in numba_probe.ROW.items():
        constant = name.split(".")[-1].upper()
        if name == "ld.successor.hazard_multiplier":
            constant = "SUCCESSOR_MULTIPLIER"
        assert getattr(numba_probe, constant) == j, name
