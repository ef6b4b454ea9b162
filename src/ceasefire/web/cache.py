"""A bounded, thread-safe cache of previews that computes each key once, even when asked at once.

Slider positions are discrete, so many dashboard users ask for the same previews: the scenario's
baseline, one lever at one step, and so on. When several requests for a key that is not cached
arrive together, the first computes it while the others wait for its answer ("single flight").
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")

COMPUTED, CACHED, SHARED = "computed", "cached", "shared"
"""Where an answer came from: computed for this request, from the cache, or shared with an identical
request that was computing it at the same time."""


class _Flight(Generic[T]):
    """One computation in progress; the requests that wait for it."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.value: T | None = None
        self.error: BaseException | None = None


class SingleFlightCache(Generic[T]):
    """At most ``size`` answers by key (LRU), each computed once however many ask for it at once.

    Parameters
    ----------
    size
        Most entries kept (at least 1).
    wait
        Most seconds a request waits for an identical request's computation before
        :meth:`get` raises :class:`TimeoutError` (the computation goes on).
    """

    def __init__(self, size: int, wait: float = 600.0) -> None:
        self.size = size
        self.wait = wait
        self._entries: OrderedDict[Hashable, T] = OrderedDict()
        self._flights: dict[Hashable, _Flight[T]] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, compute: Callable[[], T]) -> tuple[T, str]:
        """The answer for ``key`` and where it came from (:data:`COMPUTED`, :data:`CACHED`, :data:`SHARED`).

        ``compute()`` runs in the calling thread when no answer is cached and no identical
        request is computing one; its exception propagates to this caller and to every request
        that waited for it, and nothing is cached.
        """
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key], CACHED
            flight = self._flights.get(key)
            first = flight is None
            if flight is None:
                flight = self._flights[key] = _Flight()
        if not first:
            if not flight.done.wait(self.wait):
                raise TimeoutError(f"waited {self.wait:g} s for an identical request's answer")
            if flight.error is not None:
                raise flight.error
            return flight.value, SHARED  # type: ignore[return-value]
        try:
            value = compute()
        except BaseException as e:
            flight.error = e
            with self._lock:
                del self._flights[key]
            flight.done.set()
            raise
        flight.value = value
        with self._lock:
            self._entries[key] = value
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
            del self._flights[key]
        flight.done.set()
        return value, COMPUTED
