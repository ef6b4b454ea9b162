"""Optimal stopping by least-squares Monte Carlo (Longstaff & Schwartz 2001).

A stopping problem is given by simulated paths: at each date ``t = 0 .. T`` a state ``x_t``
and the payoff ``g_t`` of stopping then (NaN where stopping is not possible); between dates a
flow ``f_t`` received when continuing from ``t`` to ``t + 1`` and a factor ``delta_t`` bringing
a value at ``t + 1`` back to ``t`` (time discounting times survival; ``0`` ends the path); and
``h``, the value of continuing past ``T``. The value of a stopping time ``tau`` on one path is::

    sum_{s < tau} D_s f_s + D_tau g_tau,        D_s = delta_0 delta_1 ... delta_{s-1}

(``D_{T+1} h`` in place of the last term when the path never stops). The solver looks for the
rule that maximizes its mean.

Backward induction (Longstaff & Schwartz 2001, section 1): at ``T`` the path's value is
``V_T = g_T`` where ``g_T >= h``, else ``h``. For ``t = T-1 .. 0`` the realized continuation
``Y_t = f_t + delta_t V_{t+1}`` is regressed, over the paths that can stop at ``t``, on basis
functions of the state, ``C_t(x) = beta_t . phi(x)``; then ``V_t = g_t`` where ``g_t >= C_t(x_t)``,
else ``Y_t``. ``V`` is the realized cash flow under the rule, never the regression estimate: this
is what keeps the method's bias small. The fitted rule is then followed on independent paths,
which gives a value biased low (the rule is feasible, so at most the optimum, up to Monte Carlo
error); the backward-induction value on the training paths is biased high.

Everything is batched over ``B`` independent problems, each with its own ``n`` paths and its own
regression at each date; batch ``b``'s numbers depend only on batch ``b``'s paths and are the
same, bit for bit, whichever other batches are solved with it.

Following the rule costs in proportion to the work it needs: from date to date only the paths
still alive are carried, and the continuation value is computed only on those that can stop
(``g_t`` not NaN), in small blocks; each path gets the same bits as when the rule is applied to
every path at every date (:meth:`StoppingRule.stops`). A basis must therefore act state by state,
as the named ones do. :meth:`OptimalStopping.fit` fits the rule without following it.

Reference
---------
Longstaff, F. A. & Schwartz, E. S. (2001). Valuing American options by simulation: a simple
least-squares approach. *Review of Financial Studies* 14(1), 113-147.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from functools import cache
from itertools import combinations_with_replacement
from types import ModuleType
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "BASES",
    "Array",
    "Basis",
    "LaguerreBasis",
    "OptimalStopping",
    "PathSet",
    "PolynomialBasis",
    "StoppingResult",
    "StoppingRule",
    "laguerre",
    "polynomial",
]

Array = NDArray[np.float64]
Basis = Callable[[Array], Array]
"""A basis maps states ``(..., d)`` to regressors ``(..., k)``; column 0 is the constant 1."""

# Ridge added to the diagonal of the standardized normal equations (unit diagonal): keeps
# collinear columns solvable while moving a well-posed fit by ~1e-10 relative.
_RIDGE = 1e-10
# A column whose spread among the active paths is below this fraction of its size is constant there.
_CONSTANT_COLUMN = 1e-9
# Batches are processed in groups of about this many regressor entries (memory, cache).
_CHUNK_ENTRIES = 1 << 21
# States whose continuation value is computed together when a rule is followed (64 KiB per column).
_BLOCK = 1 << 13


@cache
def _blas_controller() -> Any:
    from threadpoolctl import ThreadpoolController  # a dependency, imported when a rule is first fitted

    return ThreadpoolController()


def _one_blas_thread() -> AbstractContextManager[object]:
    """BLAS limited to one thread while regressions run.

    The regressions are small (``k x n`` by ``n x k``): a second BLAS thread saves little, and on a
    machine whose cores are busy OpenBLAS's threads can stall a product for a second or more. One
    thread also makes the products' rounding independent of the core count (a multithreaded
    matrix-vector product splits its sum across threads for long vectors).
    """
    return _blas_controller().limit(limits=1, user_api="blas")  # type: ignore[no-any-return]


# ---------------------------------------------------------------------------------------- bases


@dataclass(frozen=True)
class PolynomialBasis:
    """All monomials of total degree ``<= degree`` in the ``d`` state variables.

    Columns: ``1``, then ``x_1 .. x_d``, then the products of two (squares and cross products,
    ``x_i x_j`` with ``i <= j``), and so on: ``C(d + degree, degree)`` columns in all.
    """

    degree: int

    def __call__(self, state: Array) -> Array:
        return np.stack(self.columns(state), axis=-1)

    def columns(self, state: Array, xp: ModuleType = np) -> list[Array]:
        """The ``k`` columns, each of shape ``state.shape[:-1]`` (computed with the array namespace ``xp``)."""
        x = xp.asarray(state, dtype=xp.float64)
        d = x.shape[-1]
        columns: dict[tuple[int, ...], Array] = {(): xp.ones(x.shape[:-1])}
        for deg in range(1, self.degree + 1):
            for combo in combinations_with_replacement(range(d), deg):
                columns[combo] = columns[combo[:-1]] * x[..., combo[-1]]
        return list(columns.values())


@dataclass(frozen=True)
class LaguerreBasis:
    """Weighted Laguerre polynomials of Longstaff & Schwartz (2001), eq. (2), variable by variable.

    Columns: ``1``, then for each state variable ``x``: ``exp(-x/2) L_j(x)``, ``j = 0 .. degree-1``,
    with ``L_0 = 1``, ``L_1 = 1 - x``, ``L_2 = 1 - 2x + x^2/2`` and
    ``(j+1) L_{j+1} = (2j + 1 - x) L_j - j L_{j-1}``. No cross terms: ``1 + d * degree`` columns.
    The weight makes sense for a state of order one (L&S use the stock price over the strike).
    """

    degree: int

    def __call__(self, state: Array) -> Array:
        return np.stack(self.columns(state), axis=-1)

    def columns(self, state: Array) -> list[Array]:
        """The ``k`` columns, each of shape ``state.shape[:-1]``.

        The recurrence is written out with the exact steps ``L_0 = 1`` and ``L_1 = 1 - x`` (a
        product by one or a difference with zero rounds to itself), so the columns carry the same
        bits as the plain recurrence started from ``L_{-1} = 0``, ``L_0 = 1``.
        """
        x = np.asarray(state, dtype=np.float64)
        columns = [np.ones(x.shape[:-1])]
        for i in range(x.shape[-1] if self.degree else 0):
            xi = x[..., i]
            weight = np.multiply(xi, -0.5)
            np.exp(weight, out=weight)
            columns.append(weight)  # weight * L_0
            previous: Array | None = None
            current = np.subtract(1.0, xi)  # L_1
            for j in range(1, self.degree):
                columns.append(weight * current)
                if j + 1 == self.degree:
                    break  # L_{j+1} is not used
                following = np.subtract(2 * j + 1, xi)
                following *= current
                following -= 1.0 if previous is None else j * previous
                following /= j + 1
                previous, current = current, following
        return columns


def _check_degree(degree: int) -> int:
    if isinstance(degree, bool) or not isinstance(degree, int | np.integer) or degree < 0:
        raise ValueError(f"degree must be an integer >= 0, got {degree!r}")
    return int(degree)


def polynomial(degree: int = 2) -> Basis:
    """Full multivariate polynomial basis of total degree ``<= degree`` (see :class:`PolynomialBasis`)."""
    return PolynomialBasis(_check_degree(degree))


def laguerre(degree: int = 3) -> Basis:
    """Constant plus ``degree`` weighted Laguerre polynomials per state variable (see :class:`LaguerreBasis`)."""
    return LaguerreBasis(_check_degree(degree))


BASES: dict[str, Callable[[int], Basis]] = {"polynomial": polynomial, "laguerre": laguerre}


# ---------------------------------------------------------------------------------------- paths


def _float_array(name: str, value: object) -> Array:
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be an array of numbers: {exc}") from exc


def _checked(name: str, value: object, shape: tuple[int, ...], described: str, allow_nan: bool = False) -> Array | None:
    """``value`` as a float array of ``shape`` (``described`` in words), finite (or NaN); ``None`` stays ``None``."""
    if value is None:
        return None
    array = _float_array(name, value)
    if array.shape != shape:
        raise ValueError(f"{name} must have shape {described} = {shape}, got {array.shape}")
    _require_finite(name, array, allow_nan)
    return array


# Entries checked at a time by the validation (a block stays in cache; no array-sized temporary).
_CHECK_BLOCK = 1 << 16


def _require_finite(name: str, array: Array, allow_nan: bool = False) -> None:
    flat = array.reshape(-1)
    for start in range(0, flat.size, _CHECK_BLOCK):
        block = flat[start : start + _CHECK_BLOCK]
        if np.isinf(block).any() if allow_nan else not np.isfinite(block).all():
            what = "finite or NaN" if allow_nan else "finite"
            raise ValueError(f"{name} must be {what} everywhere")


@dataclass(frozen=True)
class PathSet:
    """Simulated paths of one stopping problem (or a batch of ``B`` independent problems).

    Parameters
    ----------
    state
        ``(T+1, B, n, d)``: the state at dates ``0 .. T`` on ``n`` paths of each of ``B`` problems.
    stop
        ``(T+1, B, n)``: the payoff of stopping at date ``t``; NaN where stopping is not possible
        (for an American put, where it is out of the money: the regression then uses the
        in-the-money paths only, as in Longstaff & Schwartz).
    flow
        ``(T, B, n)`` or ``None`` (zero): received at date ``t`` when continuing from ``t`` to
        ``t + 1``, undiscounted, counted at ``t``.
    discount
        A scalar or an array broadcastable to ``(T, B, n)``, ``>= 0``: the factor bringing a
        value at ``t + 1`` back to ``t``, e.g. ``exp(-r dt)`` times a survival indicator. A zero
        ends the path: nothing after it counts, and it is not used in later regressions.
    terminal
        ``(B, n)`` or ``None`` (zero): the value of continuing past ``T``.
    antithetic
        Paths ``i`` and ``i + n//2`` are antithetic partners (``n`` must be even); standard errors
        are then computed from the pair means.

    Raises
    ------
    ValueError
        Naming the field, when a shape is wrong or a value is not finite (``stop`` may be NaN).
    """

    state: Array
    stop: Array
    flow: Array | None = None
    discount: Array | float = 1.0
    terminal: Array | None = None
    antithetic: bool = False

    def __post_init__(self) -> None:
        state = _float_array("state", self.state)
        if state.ndim != 4 or 0 in state.shape:
            raise ValueError(f"state must have shape (T+1, B, n, d) with no empty axis, got {state.shape}")
        _require_finite("state", state)
        dates, batches, paths, _ = state.shape
        horizon = dates - 1

        stop = _checked("stop", self.stop, (dates, batches, paths), "(T+1, B, n)", allow_nan=True)
        flow = _checked("flow", self.flow, (horizon, batches, paths), "(T, B, n)")

        discount_array = _float_array("discount", self.discount)
        try:
            np.broadcast_to(discount_array, (horizon, batches, paths))
        except ValueError:
            raise ValueError(
                f"discount must be a scalar or broadcastable to (T, B, n) = {(horizon, batches, paths)}, "
                f"got shape {discount_array.shape}"
            ) from None
        _require_finite("discount", discount_array)
        if np.any(discount_array < 0):
            raise ValueError("discount must be >= 0 everywhere")
        discount: Array | float = float(discount_array) if discount_array.ndim == 0 else discount_array

        terminal = _checked("terminal", self.terminal, (batches, paths), "(B, n)")
        if not isinstance(self.antithetic, bool | np.bool_):
            raise ValueError(f"antithetic must be a bool, got {self.antithetic!r}")
        if self.antithetic and paths % 2:
            raise ValueError(f"antithetic paths need an even number of paths n, got n = {paths}")

        checked = {"state": state, "stop": stop, "flow": flow, "discount": discount, "terminal": terminal}
        for name, value in {**checked, "antithetic": bool(self.antithetic)}.items():
            object.__setattr__(self, name, value)

    @property
    def horizon(self) -> int:
        """``T``, the last date."""
        return int(self.state.shape[0]) - 1

    @property
    def batches(self) -> int:
        """``B``, the number of independent problems."""
        return int(self.state.shape[1])

    @property
    def paths(self) -> int:
        """``n``, the number of paths of each problem."""
        return int(self.state.shape[2])

    @property
    def dims(self) -> int:
        """``d``, the number of state variables."""
        return int(self.state.shape[3])

    def _discount_at(self, t: int, batch: slice) -> Array:
        full = np.broadcast_to(np.asarray(self.discount, dtype=np.float64), (self.horizon, self.batches, self.paths))
        return full[t, batch]

    def _flow_at(self, t: int, batch: slice) -> Array | None:
        return None if self.flow is None else self.flow[t, batch]

    def _terminal_at(self, batch: slice) -> Array:
        if self.terminal is None:
            return np.zeros((len(range(*batch.indices(self.batches))), self.paths))
        return self.terminal[batch]


# ---------------------------------------------------------------------------------------- rule


def _regressors(basis: Basis, state: Array) -> Array:
    """``basis(state)`` for states ``(B, n, d)``, laid out ``(B, k, n)`` (reductions run along contiguous paths)."""
    batches, paths = state.shape[:2]
    if isinstance(basis, PolynomialBasis | LaguerreBasis):
        x = np.stack(basis.columns(state), axis=1)
    else:
        x = np.asarray(basis(state), dtype=np.float64)
        if x.ndim != 3 or x.shape[:2] != (batches, paths) or x.shape[2] < 1:
            raise ValueError(f"basis must map (B, n, d) to (B, n, k) with B, n = {batches}, {paths}; got {x.shape}")
        x = np.ascontiguousarray(np.moveaxis(x, 2, 1))
    if not np.all(x[:, 0] == 1.0):
        raise ValueError("basis column 0 must be the constant 1")
    return x


def _combine(regressors: Array, coefficients: Array) -> Array:
    """``sum_j X[b, j, i] beta[b, j]`` for regressors ``(B, k, n)``, summed in a fixed order (the same bits
    in any grouping of batches)."""
    k = regressors.shape[1]
    return _sum_columns([regressors[:, j] for j in range(k)], [coefficients[:, j, None] for j in range(k)])


def _sum_columns(columns: Sequence[Array], coefficients: Sequence[Array], out: Array | None = None) -> Array:
    """``sum_j columns[j] * coefficients[j]``, from ``j = 0`` up: the one order every continuation is summed
    in (into ``out`` when given). Each product is rounded, then added: summed in place, the same bits as
    fresh sums."""
    out = np.multiply(columns[0], coefficients[0], out=out)
    term = np.empty_like(out)
    for column, beta in zip(columns[1:], coefficients[1:], strict=True):
        np.multiply(column, beta, out=term)
        out += term
    return out


RUN_PATHS = 1024
"""Paths of one batch in a row, on average, from which :meth:`StoppingRule.continuation_rows` weights
each run of paths by its batch's coefficients rather than gathering them path by path."""


def batch_runs(batch: NDArray[np.int64]) -> list[tuple[int, int, int]] | None:
    """``(start, stop, b)`` of each run of paths of one batch ``b`` in ``batch``, if the runs are long
    (:data:`RUN_PATHS` paths on average; as when a run's paths come sample by sample), else ``None``."""
    if batch.size == 0:
        return None
    edges = np.flatnonzero(batch[1:] != batch[:-1]) + 1
    if batch.size < RUN_PATHS * (edges.size + 1):
        return None
    bounds = [0, *edges.tolist(), batch.size]
    return [(bounds[i], bounds[i + 1], int(batch[bounds[i]])) for i in range(len(bounds) - 1)]


@dataclass(frozen=True)
class StoppingRule:
    """A fitted exercise rule: stop where the payoff is at least the estimated continuation value.

    Parameters
    ----------
    coefficients
        ``(T+1, B, k)``: at date ``t < T``, the coefficients of the continuation value on
        ``basis(state)`` (in the basis' own units). NaN at dates where no training path could
        stop: the rule never stops there. At ``T`` the continuation is the terminal value, which
        the rule does not store: the row is zero (the default terminal) and :meth:`stops` takes
        the terminal value as an argument.
    basis
        The basis the coefficients refer to.
    """

    coefficients: Array
    basis: Basis

    @property
    def horizon(self) -> int:
        """``T``, the last date."""
        return int(self.coefficients.shape[0]) - 1

    def _date(self, t: int) -> int:
        if not 0 <= t <= self.horizon:
            raise ValueError(f"date t must be in 0 .. {self.horizon}, got {t}")
        return int(t)

    def continuation(self, t: int, state: Array) -> Array:
        """Estimated continuation value ``C_t(x) = beta_t . phi(x)`` ``(B, n)`` of states ``(B, n, d)`` at date
        ``t = 0 .. T`` (zero at ``T``: the default terminal value; NaN at a date where the rule never stops).
        """
        t = self._date(t)
        x = np.asarray(state, dtype=np.float64)
        beta = self.coefficients[t]
        if x.ndim != 3 or x.shape[0] != beta.shape[0]:
            raise ValueError(f"state must have shape (B, n, d) with B = {beta.shape[0]}, got {x.shape}")
        return _combine(_regressors(self.basis, x), beta)

    def continuation_rows(self, t: int, state: Array, batch: NDArray[np.int64]) -> Array:
        """:meth:`continuation` ``(m,)`` of paths drawn from any batches: ``state`` ``(m, d)``, path ``i`` of batch
        ``batch[i]``. The same numbers, bit for bit, as :meth:`continuation` on those paths; for a set of
        paths that is not a whole batch (e.g. those still at war).
        """
        t = self._date(t)
        x = np.asarray(state, dtype=np.float64)
        if x.ndim != 2:
            raise ValueError(f"state must have shape (m, d), got {x.shape}")
        runs = batch_runs(batch)
        if runs is None:  # a row of coefficients per path, laid out column by column (each column contiguous)
            return _continuation_at(self.basis, x, np.take(self.coefficients[t].T, batch, axis=1).T)
        out = np.empty(x.shape[0])
        for start, stop, b in runs:  # each run weighted by its batch's coefficients, not a copy per path
            _continuation_at(self.basis, x[start:stop], self.coefficients[t, b], out=out[start:stop])
        return out

    def stops(self, t: int, state: Array, stop: Array, terminal: Array | None = None) -> NDArray[np.bool_]:
        """Whether the rule stops at date ``t`` ``(B, n)``: ``stop`` is not NaN and ``stop >= continuation``.

        Parameters
        ----------
        t
            The date, ``0 .. T``.
        state
            ``(B, n, d)``; not used at ``T``.
        stop
            ``(B, n)``: the payoff of stopping now, NaN where stopping is not possible.
        terminal
            Only used at ``T``, where the continuation is the value of continuing past ``T``:
            ``(B, n)`` or broadcastable to it; ``None`` means zero.
        """
        t = self._date(t)
        payoff = np.asarray(stop, dtype=np.float64)
        if t == self.horizon:
            value = np.zeros(payoff.shape) if terminal is None else np.asarray(terminal, dtype=np.float64)
        else:
            value = self.continuation(t, state)
        with np.errstate(invalid="ignore"):
            return np.asarray(~np.isnan(payoff) & (payoff >= value), dtype=np.bool_)


# ---------------------------------------------------------------------------------------- result


@dataclass(frozen=True)
class StoppingResult:
    """The solution of a batch of stopping problems.

    Attributes
    ----------
    value
        ``(B,)``: mean discounted cash flow at date 0 on the evaluation paths following the rule.
    stderr
        ``(B,)``: its Monte Carlo standard error, ``sd / sqrt(n)`` (over pair means, ``n/2`` of them,
        when the paths are antithetic); NaN with fewer than two independent draws.
    rule
        The fitted :class:`StoppingRule`.
    stopping_time
        ``(B, n)``: the date of stopping on the evaluation paths; ``-1`` where the path never
        stopped (continued past ``T``, or was ended by a zero discount).
    in_sample_value
        ``(B,)``: the backward-induction value on the training paths (biased high).
    """

    value: Array
    stderr: Array
    rule: StoppingRule
    stopping_time: NDArray[np.int64]
    in_sample_value: Array


# ---------------------------------------------------------------------------------------- solver


def _chunks(batches: int, entries_per_batch: int) -> Iterator[slice]:
    size = max(1, _CHUNK_ENTRIES // max(1, entries_per_batch))
    for start in range(0, batches, size):
        yield slice(start, min(start + size, batches))


def _regress(regressors: Array, target: Array, active: NDArray[np.bool_], ridge: float = _RIDGE) -> Array:
    """Least-squares coefficients ``(B, k)`` of ``target`` ``(B, n)`` on ``regressors`` ``(B, k, n)`` (column 0
    the constant 1) over the ``active`` paths ``(B, n)``, per batch.

    Columns ``1 ..`` are centred on their mean among the active paths (so the intercept is the
    target's mean) and scaled by their spread: the normal equations of the standardized problem
    (unit diagonal) get a ridge of ``ridge``, and the coefficients are folded back to the basis'
    own units. A column constant among the active paths gets coefficient 0; with fewer active
    paths than columns, only the mean is fitted; with none, the coefficients are NaN.
    """
    k = regressors.shape[1]
    target_mean, count, safe = _active_mean(target, active)
    target_centred = np.where(active, target - target_mean[:, None], 0.0)

    mask = active[:, None, :]
    mean = np.where(mask, regressors, 0.0).sum(axis=2) / safe[:, None]
    # columns are fitted only on batches of at least k active paths (often not so with a few paths a
    # batch): the others fit the mean alone, and their Gram matrices would not be read
    enough = count >= k
    if enough.all():
        beta = _slopes(regressors, target_centred, mask, mean, safe, ridge)
    else:
        beta = np.zeros((regressors.shape[0], k))
        if enough.any():
            rows = (regressors[enough], target_centred[enough], mask[enough], mean[enough], safe[enough])
            beta[enough] = _slopes(*rows, ridge)
    beta[:, 0] = target_mean - (beta[:, 1:] * mean[:, 1:]).sum(axis=1)
    beta[count == 0] = np.nan
    return beta


def _active_mean(target: Array, active: NDArray[np.bool_]) -> tuple[Array, Array, Array]:
    """Per batch, the mean of ``target`` ``(B, n)`` over the ``active`` paths, their number and that number
    at least 1 (the divisor), each ``(B,)``: the intercept of a fit of the mean alone."""
    count = active.sum(axis=1).astype(np.float64)
    safe = np.maximum(count, 1.0)
    return np.where(active, target, 0.0).sum(axis=1) / safe, count, safe


def _fit_date(
    basis: Basis, state: Array, realized: Array, active: NDArray[np.bool_], ridge: float, k: int
) -> tuple[Array, Array]:
    """One date of the backward induction: coefficients ``(B, k)`` (:func:`_regress`) of the realized values
    ``(B, n)`` on the ``k`` columns of ``basis(state)``, ``state`` ``(B, n, d)``, and the continuation
    values ``(B, n)``.

    A batch with fewer active paths than columns fits the mean alone: its continuation is that mean on
    every path, worked out here without its regressors. Where the regressors are known to be finite
    (:func:`_finite_columns`), that is the number :func:`_combine` gives (the other columns add products
    by zero; a zero's sign aside); otherwise every batch goes through the regressors.
    """
    few = active.sum(axis=1) < k
    if not (few.any() and _finite_columns(basis, state)):
        regressors = _regressors(basis, state)
        beta = _regress(regressors, realized, active, ridge)
        return beta, _combine(regressors, beta)
    beta = np.zeros((state.shape[0], k))
    beta[:, 0], count, _ = _active_mean(realized, active)
    beta[count == 0] = np.nan
    continuation = np.repeat(beta[:, :1], state.shape[1], axis=1)
    enough = ~few
    if enough.any():
        regressors = _regressors(basis, state[enough])
        beta[enough] = _regress(regressors, realized[enough], active[enough], ridge)
        continuation[enough] = _combine(regressors, beta[enough])
    return beta, continuation


def _finite_columns(basis: Basis, state: Array) -> bool:
    """Whether ``basis`` has finite columns on ``state``, with sums over up to ``10**50`` paths finite too:
    known for a :class:`PolynomialBasis` on states of magnitude at most ``10**(250 / degree)``; not
    assumed for any other basis."""
    if not isinstance(basis, PolynomialBasis):
        return False
    return basis.degree == 0 or bool(np.abs(state).max(initial=0.0) <= 10.0 ** (250.0 / basis.degree))


def _slopes(
    regressors: Array, target_centred: Array, mask: NDArray[np.bool_], mean: Array, safe: Array, ridge: float
) -> Array:
    """The coefficients ``(B, k)`` of columns ``1 ..`` of :func:`_regress` on batches of at least ``k`` active
    paths (column 0 left zero): ``mask`` ``(B, 1, n)`` the active paths, ``mean`` their columns' means
    and ``safe`` their number."""
    k = regressors.shape[1]
    centred = np.where(mask, regressors - mean[:, :, None], 0.0)
    # Stacked matmul runs one BLAS call per batch, with the same shapes whatever B is.
    gram = centred @ np.swapaxes(centred, 1, 2) / safe[:, None, None]
    rhs = (centred @ target_centred[:, :, None])[:, :, 0] / safe[:, None]

    spread = np.sqrt(np.maximum(np.diagonal(gram, axis1=1, axis2=2), 0.0))
    keep = spread > _CONSTANT_COLUMN * np.sqrt(mean * mean + spread * spread)
    keep[:, 0] = False  # the intercept: centred columns are orthogonal to it
    scale = np.where(keep, spread, 1.0)
    # a batch whose columns are all constant among its active paths: its standardized system would be
    # the identity, its solution unread
    fitted = keep.any(axis=1)
    solved = np.zeros((regressors.shape[0], k))
    if fitted.any():
        solved[fitted] = _solve_standardized(gram[fitted], rhs[fitted], keep[fitted], scale[fitted], ridge)
    slopes: Array = np.where(keep, solved / scale, 0.0)
    return slopes


def _solve_standardized(gram: Array, rhs: Array, keep: NDArray[np.bool_], scale: Array, ridge: float) -> Array:
    """The coefficients ``(B, k)`` of the standardized normal equations: the kept columns' Gram matrix
    scaled to a unit diagonal, plus ``ridge``; the identity for the other columns."""
    k = gram.shape[1]
    both = keep[:, :, None] & keep[:, None, :]
    standardized = np.where(both, gram / (scale[:, :, None] * scale[:, None, :]), 0.0)
    standardized += np.where(keep, ridge, 1.0)[:, :, None] * np.eye(k)
    solved: Array = np.linalg.solve(standardized, np.where(keep, rhs / scale, 0.0)[:, :, None])[:, :, 0]
    return solved


class OptimalStopping:
    """A batch of optimal stopping problems given by simulated paths, solved by least-squares Monte Carlo.

    One problem object, one :meth:`solve` (shaped like QuantEcon's ``DiscreteDP``).

    Parameters
    ----------
    train
        The paths the exercise rule is fitted on.
    basis
        A name in :data:`BASES` (``"polynomial"``, ``"laguerre"``) or a :data:`Basis` callable.
    degree
        The degree passed to a named basis; ignored for a callable.
    ridge
        Ridge penalty on the standardized regressors (whose Gram matrix has a unit diagonal):
        ``1e-10`` only guards against singularity; ``1e-3`` or so shrinks a rich basis fitted on
        few paths, where the plain fit would chase noise (the war engine uses ``1e-3``).

    Examples
    --------
    An American put, K = 40, S0 = 36, r = 0.06, sigma = 0.2, one year, 50 exercise dates
    (Longstaff & Schwartz 2001, Table 1, first row: 4.478 by finite differences):

    >>> import numpy as np
    >>> from ceasefire.solve.lsm import OptimalStopping, PathSet
    >>> def put_paths(seed, n=20_000, steps=50, dt=1 / 50, r=0.06, sigma=0.2, s0=36.0, k=40.0):
    ...     z = np.random.default_rng(seed).standard_normal((steps, 1, n))
    ...     log_s = np.cumsum((r - sigma**2 / 2) * dt + sigma * np.sqrt(dt) * z, axis=0)
    ...     s = s0 * np.exp(np.concatenate([np.zeros((1, 1, n)), log_s]))
    ...     payoff = k - s
    ...     return PathSet(state=(s / k)[..., None], stop=np.where(payoff > 0, payoff, np.nan),
    ...                    discount=np.exp(-r * dt))
    >>> train, test = np.random.SeedSequence(2001).spawn(2)
    >>> result = OptimalStopping(put_paths(train), basis="laguerre", degree=3).solve(put_paths(test))
    >>> bool(abs(result.value[0] - 4.478) < 0.05)
    True
    """

    def __init__(
        self, train: PathSet, basis: str | Basis = "polynomial", degree: int = 2, ridge: float = _RIDGE
    ) -> None:
        if not isinstance(train, PathSet):
            raise TypeError(f"train must be a PathSet, got {type(train).__name__}")
        if isinstance(basis, str):
            if basis not in BASES:
                raise ValueError(f"unknown basis {basis!r}; known: {', '.join(sorted(BASES))}")
            basis = BASES[basis](degree)
        elif not callable(basis):
            raise TypeError(f"basis must be a name in {sorted(BASES)} or a callable, got {type(basis).__name__}")
        if not (np.isfinite(ridge) and ridge >= 0.0):
            raise ValueError(f"ridge must be a non-negative number, got {ridge!r}")
        self.train = train
        self.basis: Basis = basis
        self.ridge = float(ridge)

    def solve(self, evaluate: PathSet | None = None) -> StoppingResult:
        """Fit the rule on the training paths by backward induction, then follow it on ``evaluate``.

        Parameters
        ----------
        evaluate
            Independent paths of the same problems (same ``T``, ``B`` and ``d``; any ``n``). If
            ``None``, the rule is evaluated on the training paths and ``value`` is then biased
            high, like ``in_sample_value`` (which it equals up to rounding).
        """
        train = self.train
        if evaluate is None:
            evaluate = train
        elif not isinstance(evaluate, PathSet):
            raise TypeError(f"evaluate must be a PathSet or None, got {type(evaluate).__name__}")
        elif (evaluate.horizon, evaluate.batches, evaluate.dims) != (train.horizon, train.batches, train.dims):
            raise ValueError(
                "evaluate must have the training paths' T, B and d: "
                f"{(evaluate.horizon, evaluate.batches, evaluate.dims)} != {(train.horizon, train.batches, train.dims)}"
            )
        rule, in_sample = self._fit_all()
        k = rule.coefficients.shape[2]
        value = np.empty(evaluate.batches)
        stderr = np.empty(evaluate.batches)
        stopping_time = np.empty((evaluate.batches, evaluate.paths), dtype=np.int64)
        for batch in _chunks(evaluate.batches, evaluate.paths * k):
            cash, stopping_time[batch] = _follow(rule, evaluate, batch)
            value[batch] = cash.mean(axis=1)
            stderr[batch] = _standard_error(cash, evaluate.antithetic)
        return StoppingResult(
            value=value, stderr=stderr, rule=rule, stopping_time=stopping_time, in_sample_value=in_sample
        )

    def fit(self) -> StoppingRule:
        """Only fit the rule on the training paths: :meth:`solve`'s ``rule`` (the same coefficients, bit for
        bit), without following it anywhere."""
        return self._fit_all()[0]

    def _fit_all(self) -> tuple[StoppingRule, Array]:
        """Backward induction on every batch: the rule and the in-sample value ``(B,)``."""
        train = self.train
        k = _regressors(self.basis, train.state[0, :1, :1]).shape[1]
        coefficients = np.zeros((train.horizon + 1, train.batches, k))
        in_sample = np.empty(train.batches)
        with _one_blas_thread():
            for batch in _chunks(train.batches, train.paths * k):
                coefficients[:, batch], in_sample[batch] = self._fit(train, batch, k)
        return StoppingRule(coefficients=coefficients, basis=self.basis), in_sample

    def _fit(self, paths: PathSet, batch: slice, k: int) -> tuple[Array, Array]:
        """Backward induction on one group of batches: coefficients ``(T+1, b, k)`` and the in-sample value."""
        horizon = paths.horizon
        stop = paths.stop[:, batch]
        state = paths.state[:, batch]
        nb, n = stop.shape[1:]
        coefficients = np.zeros((horizon + 1, nb, k))

        # reached[t]: the path was not ended by a zero discount before t (only those enter the regressions)
        reached = np.ones((horizon + 1, nb, n), dtype=np.bool_)
        for t in range(horizon):
            reached[t + 1] = reached[t] & (paths._discount_at(t, batch) != 0)

        terminal = paths._terminal_at(batch)
        with np.errstate(invalid="ignore"):
            exercise = ~np.isnan(stop[horizon]) & (stop[horizon] >= terminal)
        cash = np.where(exercise, stop[horizon], terminal)
        for t in range(horizon - 1, -1, -1):
            flow = paths._flow_at(t, batch)
            realized = paths._discount_at(t, batch) * cash
            if flow is not None:
                realized = flow + realized
            can_stop = ~np.isnan(stop[t])
            active = can_stop & reached[t]
            if not active.any():
                coefficients[t] = np.nan
                cash = realized
                continue
            coefficients[t], continuation = _fit_date(self.basis, state[t], realized, active, self.ridge, k)
            with np.errstate(invalid="ignore"):
                exercise = can_stop & (stop[t] >= continuation)
            cash = np.where(exercise, stop[t], realized)
        return coefficients, cash.mean(axis=1)


def _continuation_at(basis: Basis, state: Array, coefficients: Array, out: Array | None = None) -> Array:
    """``C(x) = beta . phi(x)`` on ``m`` states ``(m, d)``, with coefficients ``(k,)`` or one row per state
    ``(m, k)`` (written into ``out`` ``(m,)`` when given).

    The same products and sums, in the same order (:func:`_sum_columns`), as :func:`_combine` on the
    full regressor array (so the same bits on each state): a basis acts state by state. The states are
    taken in blocks of :data:`_BLOCK` so that the basis' temporaries stay small (in cache, and reused
    by the allocator rather than mapped and faulted in afresh for every date).
    """
    out = np.empty(state.shape[0]) if out is None else out
    for start in range(0, state.shape[0], _BLOCK):
        rows = slice(start, start + _BLOCK)
        beta = coefficients if coefficients.ndim == 1 else coefficients[rows]
        if isinstance(basis, PolynomialBasis | LaguerreBasis):
            columns = basis.columns(state[rows])
        else:
            columns = list(_regressors(basis, state[None, rows])[0])
        _sum_columns(columns, [beta[..., j] for j in range(len(columns))], out=out[rows])
    return out


def _gather(values: Array, flat: NDArray[np.intp]) -> Array:
    """``values.reshape(b * n, ...)[flat]`` for values ``(b, n, ...)``, without copying a strided or broadcast array."""
    if values.flags.c_contiguous:
        return values.reshape(values.shape[0] * values.shape[1], *values.shape[2:])[flat]
    rows, columns = np.divmod(flat, values.shape[1])
    return values[rows, columns]


def _follow(rule: StoppingRule, paths: PathSet, batch: slice) -> tuple[Array, NDArray[np.int64]]:
    """Follow ``rule`` forward on one group of batches: cash flow at date 0 ``(b, n)`` and stopping dates.
    The paths still alive are carried as flat indices ``b * n + i`` (``live``; see the module)."""
    horizon = paths.horizon
    stop = paths.stop[:, batch]
    nb, n = stop.shape[1:]
    size = nb * n
    state = paths.state[:, batch]
    coefficients = rule.coefficients[:, batch]
    never = np.all(np.isnan(coefficients), axis=(1, 2))
    cash = np.zeros(size)
    stopping_time = np.full(size, -1, dtype=np.int64)
    live = np.arange(size)
    scalar_discount = np.ndim(paths.discount) == 0
    factor: Array = np.ones(1 if scalar_discount else size)  # per live path, or one for all
    for t in range(horizon):
        if not never[t] and live.size:
            payoff = _gather(stop[t], live)
            pos = np.flatnonzero(~np.isnan(payoff))
            if pos.size:
                candidates = live[pos]
                x = _gather(state[t], candidates)
                beta = coefficients[t, 0] if nb == 1 else coefficients[t][candidates // n]
                with np.errstate(invalid="ignore"):
                    hit = payoff[pos] >= _continuation_at(rule.basis, x, beta)
                stopped = pos[hit]
                if stopped.size:
                    where = live[stopped]
                    cash[where] += (factor if scalar_discount else factor[stopped]) * payoff[stopped]
                    stopping_time[where] = t
                    keep = np.ones(live.size, dtype=np.bool_)
                    keep[stopped] = False
                    live = live[keep]
                    if not scalar_discount:
                        factor = factor[keep]
        flow = paths._flow_at(t, batch)
        if flow is not None:
            cash[live] += factor * _gather(flow, live)
        if scalar_discount:
            factor = factor * float(paths.discount)
            if factor[0] == 0:
                live = live[:0]
        else:
            factor = factor * _gather(paths._discount_at(t, batch), live)
            going = factor != 0
            if not going.all():
                live, factor = live[going], factor[going]
    payoff = _gather(stop[horizon], live)
    terminal = _gather(paths._terminal_at(batch), live)
    with np.errstate(invalid="ignore"):
        hit = ~np.isnan(payoff) & (payoff >= terminal)
    cash[live] += factor * np.where(hit, payoff, terminal)
    stopping_time[live[hit]] = horizon
    return cash.reshape(nb, n), stopping_time.reshape(nb, n)


def _standard_error(cash: Array, antithetic: bool) -> Array:
    """``sd / sqrt(m)`` over the ``m`` independent draws of each batch (pair means when antithetic)."""
    if antithetic:
        half = cash.shape[1] // 2
        cash = 0.5 * (cash[:, :half] + cash[:, half:])
    m = cash.shape[1]
    if m < 2:
        return np.full(cash.shape[0], np.nan)
    centred = cash - cash.mean(axis=1, keepdims=True)
    return np.sqrt((centred * centred).sum(axis=1) / (m - 1) / m)
