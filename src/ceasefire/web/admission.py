"""How much computing the dashboard takes on at once, and the polite refusal when it is full.

:class:`Gate` lets at most ``slots`` previews compute at once and at most ``queue`` more wait, each
for at most ``wait`` seconds. A request that finds the queue full, or that waits longer, is refused
at once with :class:`Busy`, whose message the page shows ("busy — try again"), instead of joining a
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

    Waiters are served first come, first served.
    """

    def __init__(self, slots: int, queue: int, wait: float, what: str = "previews") -> None:
        if slots < 1 or queue < 0 or not wait > 0:
            raise ValueError(f"Gate needs slots >= 1, queue >= 0, wait > 0; got {slots}, {queue}, {wait}")
        self.slots, self.queue, self.wait, self.what = slots, queue, wait, what
        self._cond = threading.Condition()
        self._running = 0
        self._line: list[object] = []  # tickets of the waiting requests, oldest first
        self._refused = 0

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one slot for the ``with`` block; :class:`Busy` when the queue is full or the wait too long."""
        self._enter()
        try:
            yield
        finally:
            with self._cond:
                self._running -= 1
                self._cond.notify_all()

    def _enter(self) -> None:
        with self._cond:
            if self._running < self.slots and not self._line:
                self._running += 1
                return
            if len(self._line) >= self.queue:
                self._refused += 1
                raise Busy(
                    f"busy — {self._running} {self.what} computing and {len(self._line)} waiting, the most this "
                    "server takes on; try again in a few seconds"
                )
            ticket = object()
            self._line.append(ticket)
            deadline = time.monotonic() + self.wait
            try:
                while not (self._line[0] is ticket and self._running < self.slots):
                    left = deadline - time.monotonic()
                    if left <= 0:
                        self._refused += 1
                        raise Busy(
                            f"busy — waited {self.wait:g} s for one of {self.slots} {self.what} slots; "
                            "try again in a few seconds"
                        )
                    self._cond.wait(left)
                self._running += 1
            finally:
                self._line.remove(ticket)
                self._cond.notify_all()  # the next in line may go now

    def state(self) -> dict[str, int]:
        """Computing, waiting and refused so far."""
        with self._cond:
            return {"running": self._running, "waiting": len(self._line), "refused": self._refused}
