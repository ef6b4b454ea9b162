"""Uncertain parameters: a fixed value or a distribution, each tied to a source.

Every number in a scenario is a *parameter*: a table with either ``value`` (fixed) or
``dist`` (one of :data:`DISTRIBUTIONS`) plus the distribution's own keys, and always a
``source`` that names an entry of the scenario's ``[sources]`` table, or ``"assumption"``
together with a ``note`` saying why the number was chosen.

Sampling is by inverse CDF: the caller supplies uniform variates in (0, 1) (a Latin
hypercube over all uncertain parameters, see :mod:`ceasefire.run.sampling`) and each
parameter maps them through its quantile function.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from typing import Annotated, Any, Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, model_validator
from scipy import stats

ASSUMPTION = "assumption"
SMALLEST_POSITIVE = 5e-324
EXTREME_U = 1e-12
"""Uniform variates ``EXTREME_U`` and ``1 - EXTREME_U``: where a distribution's quantiles are checked to be
finite numbers inside its support (a wider range overflows or underflows 64-bit floats when sampled)."""


class _ParamBase(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str = Field(description="key of the [sources] table, or 'assumption'")
    note: str | None = None
    unit: str | None = None

    @model_validator(mode="after")
    def _checked(self) -> _ParamBase:
        """An assumption needs a note; a distribution's ``low`` (``mode``) and ``high`` must be in order, and
        sampling it must give finite numbers inside its support."""
        if self.source == ASSUMPTION and not (self.note and self.note.strip()):
            raise ValueError("a parameter whose source is 'assumption' needs a note saying why")
        keys = {k: getattr(self, k) for k in ("low", "mode", "high") if k in type(self).model_fields}
        if keys and not (list(keys.values()) == sorted(keys.values()) and keys["low"] < keys["high"]):
            rule = "low <= mode <= high and low < high" if "mode" in keys else "low < high"
            got = ", ".join(f"{k}={v:g}" for k, v in keys.items())
            raise ValueError(f"{type(self).__name__.lower()} needs {rule}, got {got}")
        if self.is_fixed:
            return self
        lo, hi = self.support()
        with np.errstate(all="ignore"):
            q = self.ppf(np.array([EXTREME_U, 0.5, 1.0 - EXTREME_U]))
        if not (np.isfinite(q).all() and lo <= q[0] and q[-1] <= hi):
            raise ValueError(
                f"{self.describe()} cannot be sampled in 64-bit numbers: its quantiles at {EXTREME_U:g} and "
                f"1 - {EXTREME_U:g} are {q[0]:g} and {q[-1]:g}; narrow the range"
            )
        return self

    # -- interface shared by every kind ---------------------------------------------------
    @property
    def is_fixed(self) -> bool:
        return isinstance(self, Fixed)

    def support(self) -> tuple[float, float]:
        """Smallest and largest value the parameter can take: ``[low, high]`` where it has them."""
        return (self.low, self.high)  # type: ignore[attr-defined]

    def sampled_range(self) -> tuple[float, float]:
        """The smallest and largest value sampling can give: the support's finite ends, and where an end is
        infinite the quantile at ``EXTREME_U`` (or ``1 - EXTREME_U``) instead."""
        lo, hi = self.support()
        if math.isfinite(lo) and math.isfinite(hi):
            return lo, hi
        with np.errstate(all="ignore"):
            q = self.ppf(np.array([EXTREME_U, 1.0 - EXTREME_U]))
        return (lo if math.isfinite(lo) else float(q[0])), (hi if math.isfinite(hi) else float(q[1]))

    def nominal(self) -> float:
        """A central value (the median) used for previews and the neutral explanation."""
        return float(self.ppf(np.array([0.5]))[0])

    @abstractmethod
    def ppf(self, u: NDArray[np.float64]) -> NDArray[np.float64]:
        """Quantile function: maps uniforms in (0, 1) to parameter values."""

    @abstractmethod
    def describe(self) -> str:
        """Short human description, e.g. ``triangular(850, 1100, 1650)``."""


class Fixed(_ParamBase):
    """A number known well enough to be held fixed."""

    value: float

    def support(self) -> tuple[float, float]:
        return (self.value, self.value)

    def ppf(self, u: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.full(np.shape(u), self.value, dtype=float)

    def describe(self) -> str:
        return f"{self.value:g}"


class Uniform(_ParamBase):
    dist: Literal["uniform"]
    low: float
    high: float

    def ppf(self, u: NDArray[np.float64]) -> NDArray[np.float64]:
        return self.low + (self.high - self.low) * np.asarray(u, dtype=float)

    def describe(self) -> str:
        return f"uniform({self.low:g}, {self.high:g})"


class Triangular(_ParamBase):
    dist: Literal["triangular"]
    low: float
    mode: float
    high: float

    def ppf(self, u: NDArray[np.float64]) -> NDArray[np.float64]:
        c = (self.mode - self.low) / (self.high - self.low)
        return np.asarray(stats.triang.ppf(u, c, loc=self.low, scale=self.high - self.low), dtype=float)

    def describe(self) -> str:
        return f"triangular({self.low:g}, {self.mode:g}, {self.high:g})"


class Normal(_ParamBase):
    """Normal, optionally truncated to ``[low, high]``."""

    dist: Literal["normal"]
    mean: float
    sd: float = Field(gt=0)
    low: float = -math.inf
    high: float = math.inf

    def ppf(self, u: NDArray[np.float64]) -> NDArray[np.float64]:
        a = (self.low - self.mean) / self.sd
        b = (self.high - self.mean) / self.sd
        return np.asarray(stats.truncnorm.ppf(u, a, b, loc=self.mean, scale=self.sd), dtype=float)

    def describe(self) -> str:
        bounds = f" in [{self.low:g}, {self.high:g}]" if math.isfinite(self.low) or math.isfinite(self.high) else ""
        return f"normal({self.mean:g}, sd {self.sd:g}){bounds}"


class LogNormal(_ParamBase):
    """Log-normal given by its median and the standard deviation of its logarithm."""

    dist: Literal["lognormal"]
    median: float = Field(gt=0)
    sigma: float = Field(gt=0, description="standard deviation of log(value)")

    def support(self) -> tuple[float, float]:
        return (SMALLEST_POSITIVE, math.inf)  # open at 0: every draw is positive

    def sampled_range(self) -> tuple[float, float]:
        """Both ends from the quantiles: the support's lower end (the smallest float) is never drawn."""
        with np.errstate(all="ignore"):
            q = self.ppf(np.array([EXTREME_U, 1.0 - EXTREME_U]))
        return float(q[0]), float(q[1])

    def ppf(self, u: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.asarray(stats.lognorm.ppf(u, self.sigma, scale=self.median), dtype=float)

    def describe(self) -> str:
        return f"lognormal(median {self.median:g}, sigma {self.sigma:g})"


class Beta(_ParamBase):
    """Beta(alpha, beta) rescaled to ``[low, high]`` (default the unit interval)."""

    dist: Literal["beta"]
    alpha: float = Field(gt=0)
    beta: float = Field(gt=0)
    low: float = 0.0
    high: float = 1.0

    def ppf(self, u: NDArray[np.float64]) -> NDArray[np.float64]:
        x = stats.beta.ppf(u, self.alpha, self.beta)
        return np.asarray(self.low + (self.high - self.low) * x, dtype=float)

    def describe(self) -> str:
        scale = "" if (self.low, self.high) == (0.0, 1.0) else f" on [{self.low:g}, {self.high:g}]"
        return f"beta({self.alpha:g}, {self.beta:g}){scale}"


DISTRIBUTIONS = ("uniform", "triangular", "normal", "lognormal", "beta")


def _param_kind(value: Any) -> str | None:
    if isinstance(value, dict):
        return str(value.get("dist", "fixed"))
    return str(getattr(value, "dist", "fixed")) if isinstance(value, _ParamBase) else None


Param = Annotated[
    Annotated[Fixed, Tag("fixed")]
    | Annotated[Uniform, Tag("uniform")]
    | Annotated[Triangular, Tag("triangular")]
    | Annotated[Normal, Tag("normal")]
    | Annotated[LogNormal, Tag("lognormal")]
    | Annotated[Beta, Tag("beta")],
    Discriminator(
        _param_kind,
        custom_error_type="parameter",
        custom_error_message=(
            'expected a parameter table such as {value = 3, source = "..."} or '
            '{dist = "triangular", low = 1, mode = 2, high = 3, source = "..."}'
        ),
    ),
]
"""Any parameter kind; ``dist`` picks the distribution, no ``dist`` means fixed."""

AnyParam = Fixed | Uniform | Triangular | Normal | LogNormal | Beta
