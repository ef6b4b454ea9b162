"""Worker processes: independent units of a run computed on all the cores.

A run's units (chunks of samples, the leaders' rules of groups of samples, groups of path blocks
of the true war) depend only on their inputs, so they can be computed anywhere, in any order;
the caller puts the results back in a fixed order, and the numbers are bit-identical whatever the
number of workers.

:func:`parallel_map` computes units on ``workers`` cores: this process computes units itself
while ``workers - 1`` processes of one pool, kept for the life of the process (created on first
use, grown when more are asked for), compute the others, one unit at a time each. The pool's
processes start from a fork server that has already imported the engine (``spawn`` where there
is no fork server: never a plain fork of a process that may hold threads), run BLAS on one
thread, ignore Ctrl-C (the caller stops them), exit when this process dies, and never start a
pool of their own (:func:`in_worker`). The sweep executor's pools (:mod:`ceasefire.run.sweep`)
start their processes the same way.

How many workers: an explicit number, else the environment variable :data:`WORKERS_ENV`, else
automatic (:func:`resolve_workers`): one per CPU this process may use, at most one per unit, and
one when the work is too small to pay for starting the processes.
"""

from __future__ import annotations

import atexit
import functools
import multiprocessing
import os
import pickle
import queue
import signal
import threading
import time
import traceback
import warnings
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from multiprocessing.context import BaseContext
from typing import Any, TypeVar

from ceasefire.errors import CeasefireError
from ceasefire.run.allocator import keep_freed_memory

__all__ = [
    "MIN_PATH_STEPS",
    "MIN_PATH_STEPS_WARM",
    "UNITS_PER_WORKER",
    "WORKERS_ENV",
    "WorkerError",
    "check_workers",
    "cpus",
    "default_cores",
    "in_worker",
    "init_worker",
    "parallel_map",
    "pool_context",
    "resolve_workers",
    "shutdown_pool",
    "split",
]

R = TypeVar("R")

WORKERS_ENV = "CEASEFIRE_WORKERS"
"""Environment variable: worker processes per run (a whole number >= 1; ``auto`` or empty: automatic)."""

MIN_PATH_STEPS = 1_000_000
"""Automatic workers: below this many path-steps (true and imagined months of paths) a run uses one
worker when no pool is running yet: about 3 s of work on one core here, what starting the pool
costs (see docs/performance.md)."""

MIN_PATH_STEPS_WARM = 200_000
"""The same when the pool is already running (no start-up to pay, only the transfers)."""

UNITS_PER_WORKER = 4
"""Units planned per worker where the caller can choose their size: small enough that the last
unit finishing late costs little, large enough that each still vectorizes."""

_PRELOAD = ["ceasefire.run.experiment"]
"""Imported once by the fork server, so that a new worker starts in milliseconds. (Not ``__main__``:
the fork server would run an unguarded script's code.)"""
_WATCH_SECONDS = 0.5
"""How often a worker checks that the process that started it is still alive."""
_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS")


class WorkerError(CeasefireError):
    """A worker process died (killed, or out of memory) while computing part of a run."""


# -- how many ---------------------------------------------------------------------------------------

_in_worker = False


def in_worker() -> bool:
    """Whether this process is a worker (of a run's pool, a sweep's pool, or a daemonic process such as
    a Dask worker): a run here computes everything itself, never starting a pool inside a pool."""
    return _in_worker or multiprocessing.current_process().daemon


_UNGUARDED = (
    "a run was started while a worker process was importing the main script: put the script's code "
    f"under `if __name__ == '__main__':`, or set {WORKERS_ENV}=1"
)


def cpus() -> int:
    """CPUs this process may use (at least 1)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on every platform
        return max(1, os.cpu_count() or 1)


def default_cores() -> int:
    """Cores asked for when no number is given: :data:`WORKERS_ENV` if set, else :func:`cpus`."""
    return _from_environment() or cpus()


def _from_environment() -> int | None:
    text = os.environ.get(WORKERS_ENV, "").strip()
    if text.lower() in ("", "auto", "0"):
        return None
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 1:
        raise CeasefireError(f"environment variable {WORKERS_ENV}={text!r}: expected a whole number >= 1 or 'auto'")
    return value


def check_workers(workers: int | None) -> None:
    """``ValueError`` unless ``workers`` is ``None`` (automatic) or a whole number >= 1."""
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ValueError(f"workers must be a whole number >= 1 or None (automatic), got {workers!r}")


def resolve_workers(workers: int | None, units: int, path_steps: float, useful: int | None = None) -> int:
    """The number of cores to compute up to ``units`` independent units on.

    Parameters
    ----------
    workers
        Asked for: a number (at most ``units`` are used), or ``None``: :data:`WORKERS_ENV`, else
        automatic: one per CPU (:func:`cpus`), at most ``useful``, when the work is at least
        :data:`MIN_PATH_STEPS` path-steps (:data:`MIN_PATH_STEPS_WARM` once the pool runs); else one.
    units
        The most units the work can be split into.
    path_steps
        The work: months of paths simulated, true and imagined.
    useful
        The most units worth making (each big enough to vectorize well); default ``units``.
    """
    check_workers(workers)
    if getattr(multiprocessing.current_process(), "_inheriting", False):
        raise CeasefireError(_UNGUARDED)  # in a new worker, an unguarded script: it must not run here
    if in_worker() or units < 2 or _unusable:
        return 1
    asked = workers if workers is not None else _from_environment()
    if asked is not None:
        return max(1, min(asked, units))
    floor = MIN_PATH_STEPS_WARM if _pool is not None and _ready.is_set() else MIN_PATH_STEPS
    if path_steps < floor:
        return 1
    return max(1, min(cpus(), units if useful is None else useful))


def split(n: int, workers: int, most: int | None = None, least: int = 1) -> int:
    """Items per unit when ``n`` items are shared by ``workers`` workers: :data:`UNITS_PER_WORKER` units
    each, of at least ``least`` items (but at least one unit per worker) and at most ``most``."""
    size = max(-(-n // (UNITS_PER_WORKER * workers)), min(least, n // workers), 1)
    return size if most is None else max(1, min(size, most))


# -- the processes ----------------------------------------------------------------------------------


def pool_context() -> BaseContext:
    """Start method of worker processes: a fork server that preloads the engine, else ``spawn``."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(_PRELOAD)  # read when the fork server starts (once per process)
        return ctx
    return multiprocessing.get_context("spawn")  # pragma: no cover - platforms without a fork server


def init_worker(parent: int) -> None:
    """Initializer of a worker process started by process ``parent``.

    Marks the process as a worker (runs here use one core), limits BLAS and OpenMP to one thread,
    keeps freed memory for the next arrays (:func:`ceasefire.run.allocator.keep_freed_memory`),
    ignores Ctrl-C (the parent stops its workers) and exits as soon as the parent is gone, so that a
    killed parent leaves no process behind.
    """
    global _in_worker
    _in_worker = True
    keep_freed_memory()
    os.environ[WORKERS_ENV] = "1"
    for name in _THREAD_VARIABLES:
        os.environ[name] = "1"
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=1)  # kept for the life of the process
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn (ema_workbench)
        pass
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_watch, args=(parent, os.getppid()), name="ceasefire-watch", daemon=True).start()


def _watch(parent: int, started_by: int) -> None:
    """Exit this worker when ``parent`` dies (or the fork server that forked it: it dies with the parent)."""
    while True:
        time.sleep(_WATCH_SECONDS)
        gone = os.getppid() != started_by
        if not gone:
            try:
                os.kill(parent, 0)
            except ProcessLookupError:
                gone = True
            except PermissionError:  # pragma: no cover - the pid was reused by another user's process
                gone = True
        if gone:
            os._exit(1)


_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None
_pool_size = 0
_ready = threading.Event()
_users = 0
_unusable = ""
"""Why worker processes cannot be started in this process, once that is known ("" until then)."""


def _ping() -> int:
    return os.getpid()


def _start(pool: ProcessPoolExecutor, ready: threading.Event) -> None:
    """Start the pool's processes (the first submission starts them, and the fork server before them).

    A pool that cannot start (no fork server, an unguarded main script, no memory) is given up
    for the life of the process: runs then compute on one core, with a warning.
    """
    global _unusable
    try:
        pool.submit(_ping).result()
    except BaseException as e:
        _unusable = f"{type(e).__name__}: {e}".strip()
        warnings.warn(
            f"ceasefire: could not start worker processes ({_unusable}); computing on one core. "
            f"A script that starts runs must do so under `if __name__ == '__main__':` (or set {WORKERS_ENV}=1)",
            RuntimeWarning,
            stacklevel=1,
        )
    ready.set()


def _acquire(size: int) -> tuple[ProcessPoolExecutor, threading.Event]:
    """The shared pool, with at least ``size`` processes, and the event set once they run.

    A new pool starts in a background thread: the caller computes units meanwhile, and a run that
    ends before the processes are up never waits for them.
    """
    global _pool, _pool_size, _ready, _users
    with _lock:
        if _pool is not None and (_pool_size < size or getattr(_pool, "_broken", False)):
            _pool.shutdown(wait=False)  # work already queued there still finishes
            _pool = None
        if _pool is None:
            _pool = ProcessPoolExecutor(
                max_workers=size, mp_context=pool_context(), initializer=init_worker, initargs=(os.getpid(),)
            )
            _pool_size, _ready = size, threading.Event()
            threading.Thread(target=_start, args=(_pool, _ready), name="ceasefire-start", daemon=True).start()
        _users += 1
        return _pool, _ready


def _release(pool: ProcessPoolExecutor, stop: bool) -> None:
    """Done with ``pool``; ``stop``: its processes are computing what nobody will read, end them (if no
    other run is using the pool)."""
    global _pool, _users
    with _lock:
        _users -= 1
        if not stop or _users > 0 or pool is not _pool:
            return
        _pool = None
    _terminate(pool)


def _terminate(pool: ProcessPoolExecutor) -> None:
    handles = list((getattr(pool, "_processes", None) or {}).values())  # no public way before Python 3.14
    for p in handles:
        if p.is_alive():
            p.terminate()
    pool.shutdown(wait=False, cancel_futures=True)
    for p in handles:
        p.join(timeout=5)


def shutdown_pool() -> None:
    """Stop the shared pool's processes (they finish the unit in hand); a later run starts a new pool."""
    global _pool
    with _lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)


atexit.register(shutdown_pool)


# -- errors across processes ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Raised:
    """An exception raised in a worker, carried back as data: exceptions whose ``__init__`` takes
    other arguments than their message (e.g. :class:`ceasefire.run.guards.NumericalError`) do not
    survive pickling, and a user's error should read the same as in a run on one core."""

    kind: type[BaseException]
    args: tuple[Any, ...]
    state: dict[str, Any]
    remote: str

    @classmethod
    def of(cls, e: BaseException) -> _Raised:
        state, args = dict(getattr(e, "__dict__", {})), e.args
        try:
            pickle.dumps((state, args))
        except Exception:
            state, args = {}, (str(e),)
        return cls(type(e), args, state, traceback.format_exc())

    def rebuild(self) -> BaseException:
        e = self.kind.__new__(self.kind, *self.args)
        e.args = self.args
        e.__dict__.update(self.state)
        return e


class _RemoteTraceback(Exception):
    def __str__(self) -> str:
        return str(self.args[0])


def _call(fn: Callable[..., R], args: tuple[Any, ...]) -> R | _Raised:
    """Run one unit in a worker; an exception comes back as :class:`_Raised`."""
    try:
        return fn(*args)
    except Exception as e:
        return _Raised.of(e)


def _raise(raised: _Raised) -> None:
    e = raised.rebuild()
    if isinstance(e, CeasefireError):
        raise e from None  # a user's error: its message, not the pool's machinery
    raise e from _RemoteTraceback(f'\n"""\n{raised.remote}"""')


# -- the map ----------------------------------------------------------------------------------------


class _Feed:
    """Units handed out one at a time and in order, to this process and to the dispatcher thread."""

    def __init__(self, tasks: Iterable[tuple[Any, ...]]) -> None:
        self._it = iter(tasks)
        self._lock = threading.Lock()
        self._next = 0
        self._returned: list[tuple[int, tuple[Any, ...]]] = []
        self.closed = False

    def take(self, returned: bool = True) -> tuple[int, tuple[Any, ...]] | None:
        """The next unit (first those given back, if ``returned``); ``None`` once closed or exhausted."""
        with self._lock:
            if returned and self._returned:
                return self._returned.pop()
            if self.closed:
                return None
            try:
                task = next(self._it)
            except StopIteration:
                self.closed = True
                return None
            index, self._next = self._next, self._next + 1
            return index, task

    def give_back(self, index: int, task: tuple[Any, ...]) -> None:
        """A unit that could not be handed to a worker: this process computes it."""
        with self._lock:
            self._returned.append((index, task))

    def close(self) -> None:
        with self._lock:
            self.closed = True


def parallel_map(
    fn: Callable[..., R], tasks: Iterable[tuple[Any, ...]], workers: int
) -> Generator[tuple[int, R], None, None]:
    """``(i, fn(*task_i))`` for each task, as units finish (in any order when ``workers > 1``).

    This process computes units itself; ``workers - 1`` processes of the shared pool compute the
    others, one at a time each (a unit is handed out when a process is free, so results come back
    as they are made and memory holds one unit per process). ``tasks`` is read lazily, in order,
    by one thread at a time. ``fn`` must be a module-level function, and the tasks picklable.

    An exception in a unit is raised here, the same as on one core: that of the first unit (in
    task order) that fails, once the units before it are done (a
    :class:`ceasefire.errors.CeasefireError` without the pool's traceback). A process that dies
    raises :class:`WorkerError`. Leaving early (an exception, Ctrl-C, or closing the iterator)
    cancels the units not started; on an exception or Ctrl-C the pool's processes are stopped.
    """
    if workers <= 1:
        for i, task in enumerate(tasks):
            yield i, fn(*task)
        return
    mapping = _Map(fn, tasks, workers - 1)
    try:
        yield from mapping.results()
    except GeneratorExit:  # the caller has what it needs: units still running finish unread
        mapping.abandon = True
        raise
    finally:
        mapping.close()


class _Map:
    """One :func:`parallel_map` with a pool: this thread computes and collects, a dispatcher thread
    hands a unit to each pool process that is free."""

    def __init__(self, fn: Callable[..., Any], tasks: Iterable[tuple[Any, ...]], size: int) -> None:
        self.fn = fn
        self.feed = _Feed(tasks)
        self.pool, self.ready = _acquire(size)
        self.finished: queue.SimpleQueue[tuple[int, Future[Any]]] = queue.SimpleQueue()
        self.free = threading.Semaphore(size)
        self.stop = threading.Event()
        self.futures: dict[int, Future[Any]] = {}
        self.failure: tuple[int, Exception] | None = None
        self.abandon = False
        self.dispatcher = threading.Thread(target=self._dispatch, name="ceasefire-dispatch", daemon=True)
        self.dispatcher.start()

    def _dispatch(self) -> None:
        while not self.ready.wait(timeout=0.05):  # a pool still starting: this process computes meanwhile
            if self.stop.is_set() or self.feed.closed:
                return
        if _unusable:  # this process computes everything
            return
        while not self.stop.is_set() and not self.feed.closed:
            if not self.free.acquire(timeout=0.1):
                continue
            item = self.feed.take(returned=False)
            if item is None:
                return
            i, task = item
            try:
                fut = self.pool.submit(_call, self.fn, task)
            except BaseException:  # a broken or shut-down pool: this process computes the rest
                self.feed.give_back(i, task)
                return
            self.futures[i] = fut
            fut.add_done_callback(functools.partial(self._done, i))

    def _done(self, i: int, fut: Future[Any]) -> None:  # in the pool's thread: hand over, free the slot
        self.finished.put((i, fut))
        self.free.release()

    def _fail(self, i: int, e: Exception) -> None:
        """Unit ``i`` failed: no more units are handed out (those before it all were)."""
        if self.failure is None or i < self.failure[0]:
            self.failure = (i, e)
        self.feed.close()

    def _needed(self, i: int) -> bool:
        return self.failure is None or i < self.failure[0]

    def _compute(self, i: int, task: tuple[Any, ...]) -> Iterator[tuple[int, Any]]:
        try:
            value = self.fn(*task)
        except Exception as e:
            self._fail(i, e)
            return
        yield i, value

    def _collect(self, block: bool) -> Iterator[tuple[int, Any]]:
        """Results of the pool's units that have finished (with ``block``: wait for one)."""
        while True:
            try:
                i, fut = self.finished.get(timeout=0.25) if block else self.finished.get_nowait()
            except queue.Empty:
                if block:
                    continue
                return
            self.futures.pop(i, None)
            if not fut.cancelled():
                try:
                    value = _result(fut)
                except Exception as e:
                    self._fail(i, e)
                else:
                    if self.failure is None:
                        yield i, value
            if block:
                return

    def results(self) -> Iterator[tuple[int, Any]]:
        while self.failure is None:
            yield from self._collect(block=False)
            item = self.feed.take()
            if item is None:
                break
            yield from self._compute(*item)
        self.dispatcher.join()  # it hands out nothing more: every unit taken is in the pool or given back
        while True:
            item = self.feed.take()
            if item is not None:
                if self._needed(item[0]):
                    yield from self._compute(*item)
                continue
            if not any(self._needed(k) for k in list(self.futures)):
                break
            yield from self._collect(block=True)
        if self.failure is not None:
            raise self.failure[1]

    def close(self) -> None:
        self.feed.close()
        self.stop.set()
        # the dispatcher first: a unit it was handing out as we stopped is then among the futures
        self.dispatcher.join(timeout=5)
        for fut in list(self.futures.values()):
            fut.cancel()
        busy = self.dispatcher.is_alive() or any(not f.done() for f in list(self.futures.values()))
        _release(self.pool, stop=busy and not self.abandon)


def _result(fut: Future[Any]) -> Any:
    try:
        value = fut.result()
    except BrokenProcessPool as e:
        raise WorkerError(
            f"a worker process died (killed, or out of memory) while computing part of the run: {e}"
        ) from None
    if isinstance(value, _Raised):
        _raise(value)
    return value
