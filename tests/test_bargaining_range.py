"""The bargaining range (Fearon 1995): its closed form in the one-shot limit, and invariants."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ceasefire.model.bargaining_range import bargaining_range, reservation_score

GRID = np.linspace(0.0, 1.0, 11)


def linear_values(n: int) -> np.ndarray:
    """A risk-neutral leader values a deal at his share of the stake: ``value(v) = v``."""
    return np.broadcast_to(GRID, (n, GRID.size)).copy()


def test_fearon_closed_form() -> None:
    # war: A wins the whole stake with probability p and pays c_A; B gets 1 - p and pays c_B
    p, c_a, c_b = 0.6, 0.10, 0.15
    res_a = reservation_score(linear_values(1), GRID, np.array([p - c_a]))
    res_b = reservation_score(linear_values(1), GRID, np.array([1 - p - c_b]))
    low, high = bargaining_range(res_a, np.zeros(1), res_b, np.zeros(1))
    assert low[0] == pytest.approx(0.50, abs=1e-12)
    assert high[0] == pytest.approx(0.75, abs=1e-12)


def test_fearon_one_shot_limit_of_the_model_by_simulation() -> None:
    """The one-shot war simulated (a lottery over the whole stake with costs), valued by the
    stopping solver with a single date: the range converges to ``(p - c_A, p + c_B)``."""
    from ceasefire.solve.lsm import OptimalStopping, PathSet

    p, c_a, c_b, n = 0.6, 0.10, 0.15, 400_000
    rng = np.random.default_rng(1995)
    a_wins = (rng.random(n) < p).astype(float)
    values = {}
    for side, share, cost in (("A", a_wins, c_a), ("B", 1.0 - a_wins, c_b)):
        # a war of one date and no choice: its value is the share won net of the cost
        paths = PathSet(
            state=np.zeros((1, 1, n, 1)),
            stop=np.full((1, 1, n), np.nan),
            terminal=(share - cost).reshape(1, n),
        )
        result = OptimalStopping(paths).solve()
        values[side] = (float(result.value[0]), float(result.stderr[0]))
    res_a = reservation_score(linear_values(1), GRID, np.array([values["A"][0]]))
    res_b = reservation_score(linear_values(1), GRID, np.array([values["B"][0]]))
    low, high = bargaining_range(res_a, np.zeros(1), res_b, np.zeros(1))
    tol = 4 * max(values["A"][1], values["B"][1])
    assert low[0] == pytest.approx(p - c_a, abs=tol)
    assert high[0] == pytest.approx(p + c_b, abs=tol)
    # the costs of war are the width of the range
    assert high[0] - low[0] == pytest.approx(c_a + c_b, abs=2 * tol)


def test_no_range_when_both_expect_more_from_war() -> None:
    # joint optimism: each expects to win with probability 0.7, so the war values sum above one
    res_a = reservation_score(linear_values(1), GRID, np.array([0.7 - 0.05]))
    res_b = reservation_score(linear_values(1), GRID, np.array([0.7 - 0.05]))
    low, high = bargaining_range(res_a, np.zeros(1), res_b, np.zeros(1))
    assert np.isnan(low[0]) and np.isnan(high[0])


def test_reservation_extremes() -> None:
    values = linear_values(3)
    res = reservation_score(values, GRID, np.array([-1.0, 2.0, np.nan]))
    assert res[0] == -np.inf and res[1] == np.inf and np.isnan(res[2])
    low, high = bargaining_range(res[:1], np.zeros(1), res[:1], np.zeros(1))
    assert (low[0], high[0]) == (0.0, 1.0)


def test_shift_moves_the_bound() -> None:
    # an aspiration above the stated aims (shift s > 0) asks for a larger share for the same value
    res = reservation_score(linear_values(1), GRID, np.array([0.4]))
    low0, _ = bargaining_range(res, np.zeros(1), np.array([-np.inf]), np.zeros(1))
    low1, _ = bargaining_range(res, np.array([0.2]), np.array([-np.inf]), np.zeros(1))
    assert low1[0] == pytest.approx(low0[0] + 0.2)


@given(
    fight_a=st.floats(-0.5, 1.5),
    fight_b=st.floats(-0.5, 1.5),
    curvature=st.floats(0.2, 5.0),
    extra=st.floats(0.0, 0.5),
)
def test_range_invariants(fight_a: float, fight_b: float, curvature: float, extra: float) -> None:
    values = np.power(linear_values(1), curvature)  # any increasing value of the victory score
    res_a = reservation_score(values, GRID, np.array([fight_a]))
    res_b = reservation_score(values, GRID, np.array([fight_b]))
    low, high = bargaining_range(res_a, np.zeros(1), res_b, np.zeros(1))
    if not np.isnan(low[0]):
        assert 0.0 <= low[0] <= high[0] <= 1.0
    # a leader who values fighting more can only narrow the range
    res_a2 = reservation_score(values, GRID, np.array([fight_a + extra]))
    low2, high2 = bargaining_range(res_a2, np.zeros(1), res_b, np.zeros(1))
    if not np.isnan(low2[0]):
        assert not np.isnan(low[0])
        assert low2[0] >= low[0] - 1e-12 and high2[0] == pytest.approx(high[0])


def test_range_is_recorded_on_the_first_block_of_paths() -> None:
    """Beyond PATH_BLOCK paths per sample the range has columns for the first block only (its memory
    does not grow with paths), whose numbers are those of a run of exactly PATH_BLOCK paths, as is the
    summary's frequency and share at war."""
    from ceasefire.model.engine import PATH_BLOCK, RunConfig
    from ceasefire.run.experiment import simulate_samples
    from ceasefire.run.sampling import Seeds, sample_parameters
    from ceasefire.run.summary import range_by_month
    from ceasefire.scenario.load import load_scenario

    sc = load_scenario("russia-ukraine-2026")
    seeds = Seeds.from_seed(17)
    values = sample_parameters(sc, 2, seeds.parameters)
    path_seeds = [seeds.path_seed(i) for i in range(2)]
    config = RunConfig(horizon=3)
    more = PATH_BLOCK + 300
    big = simulate_samples(sc, values, path_seeds, more, config, {})
    exact = simulate_samples(sc, values, path_seeds, PATH_BLOCK, config, {})
    first = (np.arange(2 * more) % more) < PATH_BLOCK
    np.testing.assert_array_equal(big.monthly_paths, first)
    assert exact.monthly_paths.all()
    for key in ("range_low", "range_high", "at_war_decision"):
        assert big.monthly[key].shape == exact.monthly[key].shape == (3, 2 * PATH_BLOCK)
        np.testing.assert_array_equal(big.monthly[key], exact.monthly[key])
    assert np.isfinite(exact.monthly["range_low"]).any()
    share_big = big.monthly["at_war_decision"].mean(axis=1)
    share_exact = exact.monthly["at_war_decision"].mean(axis=1)
    rows_big = range_by_month(big.monthly, share_big)
    rows_exact = range_by_month(exact.monthly, share_exact)
    assert rows_big and [(r.month, r.at_war, r.exists, r.low, r.high) for r in rows_big] == [
        (r.month, r.at_war, r.exists, r.low, r.high) for r in rows_exact
    ]


def test_no_range_no_columns() -> None:
    """Without the range no path has a column and ``monthly`` is empty, in the engine and in blocks."""
    from ceasefire.model.engine import PATH_BLOCK, RunConfig
    from ceasefire.run.experiment import simulate_samples
    from ceasefire.run.sampling import Seeds, sample_parameters
    from ceasefire.scenario.load import load_scenario

    sc = load_scenario("russia-ukraine-2026")
    seeds = Seeds.from_seed(5)
    values = sample_parameters(sc, 2, seeds.parameters)
    path_seeds = [seeds.path_seed(i) for i in range(2)]
    config = RunConfig(horizon=2, bargaining_range=False, policy="myopic")
    for paths in (50, PATH_BLOCK + 10):
        out = simulate_samples(sc, values, path_seeds, paths, config, {})
        assert out.monthly == {}
        assert out.monthly_paths.shape == (2 * paths,) and not out.monthly_paths.any()
