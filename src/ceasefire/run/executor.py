"""Executors: where independent units of work are computed (this process, local processes, Dask).

Runs, analyses and sweeps cut their work into units that depend only on their inputs (chunks of
samples, the leaders' rules of groups of samples, groups of path blocks, coalitions, lever packages,
chunks of a design's rows). An :class:`Executor` computes them anywhere, in any order, and yields
each result with its unit's index; the caller puts them back in order, so the numbers are
bit-identical whatever the executor and its number of workers.

* :class:`InlineExecutor`: in this process, in order.
* :class:`ProcessExecutor`: ``workers`` local processes of a :class:`concurrent.futures.ProcessPoolExecutor`
  kept for the life of the process (:func:`shutdown_pool` stops it). Its processes start from a fork
  server that has already imported the engine (``spawn`` where there is none: never a plain fork of a
  process that may hold threads), run BLAS on one thread, keep freed memory for the next arrays
  (:mod:`ceasefire.run.allocator`), ignore Ctrl-C (the parent stops them), exit when the parent dies,
  and never start processes of their own (:func:`in_worker`).
* :class:`DaskExecutor`: tasks on a Dask distributed cluster.

:func:`executor_for` chooses: Dask when given a scheduler, else as many processes as asked for, or
:data:`WORKERS_ENV`, or automatically (:func:`resolve_workers`): one per CPU this process may use, at
most one per unit, and this process alone when the work is too small to pay for starting processes.
"""

from __future__ import annotations

import atexit
import math
import multiprocessing
import os
import pickle
import signal
import threading
import time
import traceback
import warnings
from collections.abc import Callable, Generator, Iterable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from multiprocessing.context import BaseContext
from typing import Any, Protocol, TypeAlias, TypeVar

import numpy as np

from ceasefire.errors import CeasefireError
from ceasefire.run.allocator import keep_freed_memory, one_threshold_set

__all__ = [
    "MIN_PATH_STEPS",
    "MIN_PATH_STEPS_WARM",
    "UNITS_PER_WORKER",
    "WORKERS_ENV",
    "DaskExecutor",
    "Executor",
    "InlineExecutor",
    "ProcessExecutor",
    "WorkerError",
    "check_workers",
    "cpus",
    "executor_for",
    "in_worker",
    "resolve_workers",
    "shutdown_pool",
    "split",
]

R = TypeVar("R")
Results: TypeAlias = Generator[tuple[int, R], None, None]
"""``(index, result)`` of each unit, as units finish."""

WORKERS_ENV = "CEASEFIRE_WORKERS"
"""Environment variable: worker processes (a whole number >= 1; ``auto`` or empty: automatic)."""

MIN_PATH_STEPS = 1_000_000
"""Automatic workers: below this many path-steps (true and imagined months of paths) the work is
computed in this process when no pool is running yet: about 3 s of work on one core here, what
starting the pool costs (see docs/performance.md)."""

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
    """Part of the work was lost with its worker: a process that died (killed, or out of memory), a
    Dask cluster that gave up on a task, or a lost connection to its scheduler."""


# -- how many ---------------------------------------------------------------------------------------

_in_worker = False


def in_worker() -> bool:
    """Whether this process is a worker (of a :class:`ProcessExecutor`, or a daemonic process such as a
    Dask worker): work here is computed in this process, never in processes of its own."""
    return _in_worker or multiprocessing.current_process().daemon


def cpus() -> int:
    """CPUs this process may use (at least 1)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on every platform
        return max(1, os.cpu_count() or 1)


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


def resolve_workers(
    workers: int | None, units: int | None = None, path_steps: float = math.inf, useful: int | None = None
) -> int:
    """The number of cores to compute up to ``units`` independent units on.

    Parameters
    ----------
    workers
        Asked for: a number (at most ``units`` are used), or ``None``: :data:`WORKERS_ENV`, else
        automatic: one per CPU (:func:`cpus`), at most ``useful``, when the work is at least
        :data:`MIN_PATH_STEPS` path-steps (:data:`MIN_PATH_STEPS_WARM` once the pool runs); else one.
    units
        The most units the work can be split into (``None``: no limit).
    path_steps
        The work: months of paths simulated, true and imagined (default: enough to use every core).
    useful
        The most units worth making (each big enough to vectorize well); default ``units``.
    """
    check_workers(workers)
    if getattr(multiprocessing.current_process(), "_inheriting", False):
        raise CeasefireError(  # in a new worker, an unguarded script: it must not run here
            "work was shared out while a worker process was importing the main script: put the script's code "
            f"under `if __name__ == '__main__':`, or set {WORKERS_ENV}=1"
        )
    most = units if units is not None else math.inf
    if in_worker() or most < 2 or _unusable:
        return 1
    asked = workers if workers is not None else _from_environment()
    if asked is not None:
        return int(max(1, min(asked, most)))
    if path_steps < (MIN_PATH_STEPS_WARM if _pool is not None else MIN_PATH_STEPS):
        return 1
    return int(max(1, min(cpus(), most if useful is None else useful)))


def split(n: int, workers: int, most: int | None = None, least: int = 1) -> int:
    """Items per unit when ``n`` items are shared by ``workers`` workers: :data:`UNITS_PER_WORKER` units
    each, of at least ``least`` items (but at least one unit per worker) and at most ``most``."""
    size = max(-(-n // (UNITS_PER_WORKER * workers)), min(least, n // workers), 1)
    return size if most is None else max(1, min(size, most))


# -- the executors ----------------------------------------------------------------------------------


class Executor(Protocol):
    """Computes ``fn(*task)`` for each task and yields ``(index, result)`` as units finish, in any order.

    Entered (``with``) around its use; entered again, it keeps its processes or its connection until
    the outermost block ends. An exception in a unit is raised in the caller: the error of the first
    unit in task order that fails (a process or a cluster may finish later units first, and those
    are yielded). A lost worker raises :class:`WorkerError`.
    """

    @property
    def workers(self) -> int | None:
        """Units computed at once (``None``: not known, as on a Dask cluster not yet connected to)."""
        ...

    def __enter__(self) -> Executor: ...

    def __exit__(self, *exc: object) -> None: ...

    def map_unordered(self, fn: Callable[..., R], tasks: Iterable[tuple[Any, ...]]) -> Results[R]:
        """``(i, fn(*task_i))`` for each task; ``tasks`` is read lazily, in order; ``fn`` and the tasks
        must be picklable for an executor of processes (a module-level function)."""
        ...


class InlineExecutor:
    """Every unit in this process, in order."""

    workers = 1

    def __enter__(self) -> InlineExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def map_unordered(self, fn: Callable[..., R], tasks: Iterable[tuple[Any, ...]]) -> Results[R]:
        for i, task in enumerate(tasks):
            yield i, fn(*task)


class ProcessExecutor:
    """``workers`` units at once on the local processes of the shared pool (see the module).

    Each process computes one unit at a time, and a unit is handed out when one finishes, so results
    come back as they are made and memory holds one unit per process. Leaving the ``with`` block on
    an exception (Ctrl-C included) while units are still computing stops the pool's processes; the
    next executor starts new ones. Where processes cannot start (an unguarded main script) the units
    are computed in this process, with a warning.
    """

    def __init__(self, workers: int) -> None:
        check_workers(workers)
        self._workers = workers
        self._pool: ProcessPoolExecutor | None = None
        self._entered = 0
        self._running: set[Future[Any]] = set()

    @property
    def workers(self) -> int:
        """Units computed at once (1 once entered where processes could not start)."""
        return 1 if self._entered and self._pool is None else self._workers

    def __enter__(self) -> ProcessExecutor:
        if self._entered == 0:
            self._pool = _acquire(self._workers)
        self._entered += 1
        return self

    def __exit__(self, *exc: object) -> None:
        self._entered -= 1
        if self._entered > 0 or self._pool is None:
            return
        running = list(self._running)  # the pool's thread removes those that finish
        for fut in running:
            fut.cancel()
        busy = any(not fut.done() for fut in running)
        _release(self._pool, stop=bool(exc) and exc[0] is not None and busy)
        self._pool, self._running = None, set()

    def map_unordered(self, fn: Callable[..., R], tasks: Iterable[tuple[Any, ...]]) -> Results[R]:
        if self._entered == 0:
            raise RuntimeError("use the executor in a with block")
        if self._pool is None:
            yield from InlineExecutor().map_unordered(fn, tasks)
            return
        todo = enumerate(tasks)
        mine: dict[Future[Any], int] = {}
        failed: tuple[int, Exception] | None = None
        try:
            while True:
                while failed is None and len(mine) < self._workers and (item := next(todo, None)) is not None:
                    fut = self._pool.submit(_call, fn, item[1])
                    mine[fut] = item[0]
                    self._running.add(fut)
                    fut.add_done_callback(self._running.discard)
                needed = [f for f, i in mine.items() if failed is None or i < failed[0]]
                if not needed:
                    break
                for fut in wait(needed, return_when=FIRST_COMPLETED).done:
                    i = mine.pop(fut)
                    try:
                        value = _result(fut)
                    except Exception as e:
                        if failed is None or i < failed[0]:
                            failed = (i, e)
                    else:
                        yield i, value
            if failed is not None:
                raise failed[1]
        finally:
            for fut in mine:  # left early: units not started are dropped, those running finish unread
                fut.cancel()


class DaskExecutor:
    """Units as tasks on a Dask distributed cluster at ``address`` (or an existing ``Client``)."""

    def __init__(self, address: str | Any) -> None:
        self.address = address
        self._client: Any = None
        self._own = False
        self._entered = 0

    @property
    def workers(self) -> int | None:
        """The threads of the cluster's workers, once connected (``None`` before, or with none yet)."""
        if self._client is None:
            return None
        try:
            threads = sum(self._client.nthreads().values())
        except (OSError, TimeoutError):
            return None
        return int(threads) or None

    def __enter__(self) -> DaskExecutor:
        from distributed import Client

        if self._client is None:
            if isinstance(self.address, str):
                try:
                    self._client = Client(self.address, timeout="20s")
                except (OSError, TimeoutError) as e:
                    raise WorkerError(f"could not reach the Dask scheduler at {self.address}: {e}") from None
                self._own = True
            else:
                self._client = self.address
            self._warn_of_allocator()
        self._entered += 1
        return self

    def _warn_of_allocator(self) -> None:
        """Warn when the cluster's workers run with one of glibc's thresholds set alone (as Dask's nanny sets them)."""
        try:
            found = self._client.run(one_threshold_set)
        except Exception:  # a check that cannot run is no reason to stop the work
            return
        names = sorted({name for name in found.values() if name})
        if names:
            warnings.warn(
                f"{len(found)} Dask worker(s) run with {', '.join(names)} set alone (Dask's nanny sets "
                "MALLOC_TRIM_THRESHOLD_=65536), which made the engine about 4x slower on one core here. Set both "
                "thresholds for the workers, e.g. distributed.nanny.pre-spawn-environ: {MALLOC_TRIM_THRESHOLD_: "
                "268435456, MALLOC_MMAP_THRESHOLD_: 67108864} in the Dask config (docs/sweeps.md)",
                RuntimeWarning,
                stacklevel=3,
            )

    def __exit__(self, *exc: object) -> None:
        self._entered -= 1
        if self._entered > 0:
            return
        if self._own and self._client is not None:
            self._client.close()
        self._client = None

    def map_unordered(self, fn: Callable[..., R], tasks: Iterable[tuple[Any, ...]]) -> Results[R]:
        from distributed import as_completed
        from distributed.scheduler import KilledWorker

        if self._client is None:
            raise RuntimeError("use the executor in a with block")
        run = os.urandom(4).hex()
        futures = {self._client.submit(_call, fn, task, pure=False, key=f"ceasefire-{run}-{i}"): i
                   for i, task in enumerate(tasks)}  # fmt: skip
        try:
            for fut in as_completed(futures):
                yield futures[fut], _unwrap(fut.result())
        except KilledWorker as e:
            raise WorkerError(f"Dask workers died while computing a unit ({e}); the cluster gave up on it") from e
        except (OSError, TimeoutError) as e:
            raise WorkerError(f"lost the connection to the Dask scheduler at {self.address}: {e}") from e
        finally:
            for fut in futures:
                if not fut.done():
                    fut.cancel()


def executor_for(
    workers: int | None = None,
    scheduler: str | Any | None = None,
    *,
    work: float = math.inf,
    units: int | None = None,
    useful: int | None = None,
) -> Executor:
    """The executor for ``work`` path-steps in up to ``units`` units (``useful`` worth making).

    A :class:`DaskExecutor` when ``scheduler`` (an address or a ``distributed.Client``) is given; else
    :func:`resolve_workers` of ``workers`` (``None``: :data:`WORKERS_ENV`, else automatic) local
    processes, or this process alone (:class:`InlineExecutor`) when that is one.
    """
    if scheduler is not None:
        return DaskExecutor(scheduler)
    n = resolve_workers(workers, units, work, useful)
    return InlineExecutor() if n == 1 else ProcessExecutor(n)


# -- the processes ----------------------------------------------------------------------------------


def _context() -> BaseContext:
    """Start method of worker processes: a fork server that preloads the engine, else ``spawn``."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(_PRELOAD)  # read when the fork server starts (once per process)
        return ctx
    return multiprocessing.get_context("spawn")  # pragma: no cover - platforms without a fork server


def _init_worker(parent: int, errors: Mapping[str, Any] | None = None) -> None:
    """Initializer of a worker process started by process ``parent``, set up as the module says.

    Takes NumPy's floating-point error handling of the parent when the pool was made (``errors``,
    :func:`numpy.geterr`: the command line ignores them, since the numerical guard stops a
    non-finite result); exits as soon as the parent is gone, so that a killed parent leaves no process behind.
    """
    global _in_worker
    _in_worker = True
    if errors is not None:
        np.seterr(**errors)  # type: ignore[arg-type]
    keep_freed_memory()
    os.environ.update(dict.fromkeys((WORKERS_ENV, *_THREAD_VARIABLES), "1"))
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1)  # kept for the life of the process
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
            except (ProcessLookupError, PermissionError):  # gone, or its pid reused by another user
                gone = True
        if gone:
            os._exit(1)


_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None
_size = 0
_users = 0
_unusable = ""
"""Why worker processes cannot be started in this process, once that is known ("" until then)."""


def _acquire(size: int) -> ProcessPoolExecutor | None:
    """The shared pool, with room for ``size`` processes and answering; ``None`` where processes cannot
    start. A pool too small is replaced when no one is using it (else it queues the extra units)."""
    global _pool, _size, _users
    with _lock:
        if _pool is not None and (getattr(_pool, "_broken", False) or (_size < size and _users == 0)):
            _pool.shutdown(wait=False, cancel_futures=True)
            _pool = None
        if _pool is None and not _unusable:
            _size = max(size, cpus())  # processes start only as units need them
            _pool = _start(_size)
        if _pool is not None:
            _users += 1
        return _pool


def _start(size: int) -> ProcessPoolExecutor | None:
    """A new pool whose first process answers; ``None`` (given up for the life of this process, with a
    warning) when it cannot start: no fork server, an unguarded main script, no memory."""
    global _unusable
    pool = ProcessPoolExecutor(
        size, mp_context=_context(), initializer=_init_worker, initargs=(os.getpid(), np.geterr())
    )
    try:
        pool.submit(os.getpid).result()
    except Exception as e:
        _unusable = f"{type(e).__name__}: {e}".strip()
        pool.shutdown(wait=False, cancel_futures=True)
        warnings.warn(
            f"ceasefire: could not start worker processes ({_unusable}); computing in this process. "
            f"A script that shares out work must do so under `if __name__ == '__main__':` (or set {WORKERS_ENV}=1)",
            RuntimeWarning,
            stacklevel=4,
        )
        return None
    return pool


def _release(pool: ProcessPoolExecutor, stop: bool) -> None:
    """Done with ``pool``; ``stop``: its processes are computing what nobody will read, end them (if no
    one else is using the pool)."""
    global _pool, _users
    with _lock:
        _users -= 1
        if not stop or _users > 0 or pool is not _pool:
            return
        _pool = None
    handles = list((getattr(pool, "_processes", None) or {}).values())  # no public way before Python 3.14
    for p in handles:
        if p.is_alive():
            p.terminate()
    pool.shutdown(wait=False, cancel_futures=True)
    for p in handles:
        p.join(timeout=5)


def shutdown_pool() -> None:
    """Stop the shared pool's processes (they finish the unit in hand); a later executor starts new ones."""
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
    survive pickling, and a user's error should read the same as in this process."""

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


def _call(fn: Callable[..., R], task: tuple[Any, ...]) -> R | _Raised:
    """Compute one unit in a worker; an exception comes back as :class:`_Raised`."""
    try:
        return fn(*task)
    except Exception as e:
        return _Raised.of(e)


def _unwrap(value: Any) -> Any:
    """A unit's result, or its exception raised here: a user's error (:class:`CeasefireError`) with its
    message alone, any other with the worker's traceback as its cause."""
    if not isinstance(value, _Raised):
        return value
    e = value.rebuild()
    if isinstance(e, CeasefireError):
        raise e from None
    raise e from _RemoteTraceback(f'\n"""\n{value.remote}"""')


def _result(fut: Future[Any]) -> Any:
    try:
        value = fut.result()
    except BrokenProcessPool as e:
        raise WorkerError(
            f"a worker process died (killed, or out of memory) while computing part of the work: {e}"
        ) from None
    return _unwrap(value)
