"""How much computing the dashboard takes on at once, and the polite refusal when it is full.

:class:`Gate` refuses a request at once with :class:`Busy`, whose message the page shows ("busy —
try again"), when its queue is full or its expected wait too long, instead of letting it join a
line that would make everyone wait minutes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager


class Busy(RuntimeError):
    """The dashboard is doing as much as it allows; the message says what and asks to try again."""


class Gate:
    """At most ``slots`` holders at once and ``queue`` waiting, each waiting at most ``wait`` seconds.

    Waiters are served first come, first served. ``mean_hold`` is the mean number of seconds a slot
    is held (an exponential moving average over the last uses; ``None`` before the first).
    """

    SMOOTHING = 0.3
    """Weight of the latest hold time in ``mean_hold``."""

    def __init__(self, slots: int, queue: int, wait: float) -> None:
        self.slots, self.queue, self.wait = slots, queue, wait  # checked by RunLimits
        self._cond = threading.Condition()
        self._running = 0
        self._line: list[object] = []  # tickets of the waiting requests, oldest first
        self._refused = 0
        self.mean_hold: float | None = None

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one slot for the ``with`` block; :class:`Busy` when the queue is full or the wait too long."""
        self._enter()
        start = time.monotonic()
        try:
            yield
        finally:
            held = time.monotonic() - start
            with self._cond:
                self._running -= 1
                m = self.mean_hold
                self.mean_hold = held if m is None else m + self.SMOOTHING * (held - m)
                self._cond.notify_all()

    def _enter(self) -> None:
        with self._cond:
            if self._running < self.slots and not self._line:
                self._running += 1
                return
            if len(self._line) >= self.queue:
                raise self._refuse(
                    f"{self._count()} computing and {len(self._line)} waiting, the most this server takes on"
                )
            expected = self.expected_wait()
            if expected is not None and expected > self.wait:
                raise self._refuse(
                    f"{self._count()} computing and {len(self._line)} waiting, about {expected:.0f} s of work ahead"
                )
            ticket = object()
            self._line.append(ticket)
            deadline = time.monotonic() + self.wait
            try:
                while not (self._line[0] is ticket and self._running < self.slots):
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise self._refuse(f"waited {self.wait:g} s for a free preview slot ({self.slots} at a time)")
                    self._cond.wait(left)
                self._running += 1
            finally:
                self._line.remove(ticket)
                self._cond.notify_all()  # the next in line may go now

    def _refuse(self, why: str) -> Busy:
        """Count a refusal; the :class:`Busy` to raise, saying ``why`` and asking to try again."""
        self._refused += 1
        return Busy(f"busy — {why}; try again in a few seconds")

    def _count(self) -> str:
        return f"{self._running} preview{'' if self._running == 1 else 's'}"

    def expected_wait(self) -> float | None:
        """Seconds a request arriving now would wait: those ahead of it (waiting, and one slot's worth)
        times ``mean_hold``, shared by the slots; ``None`` before any slot was used."""
        if self.mean_hold is None:
            return None
        return (len(self._line) + 1) * self.mean_hold / self.slots

    def state(self) -> dict[str, int]:
        """Computing, waiting and refused so far."""
        with self._cond:
            return {"running": self._running, "waiting": len(self._line), "refused": self._refused}
