"""The allocator's thresholds: freed arrays stay in the process, where the command and its workers run."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import textwrap
import warnings

import pytest

from ceasefire.run import allocator
from ceasefire.run.executor import executor_for, in_worker

GLIBC = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"
glibc = pytest.mark.skipif(not GLIBC, reason="mallopt is glibc's")

_FREED = textwrap.dedent(
    """
    import json, os, sys
    import numpy as np
    from ceasefire.run import allocator

    def resident_mib():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

    applied = allocator.keep_freed_memory() if sys.argv[1] == "keep" else False
    before = resident_mib()
    block = np.ones(48 << 17)  # 48 MiB, every page touched: above glibc's largest adaptive mmap threshold
    held = resident_mib()
    del block
    print(json.dumps({"applied": applied, "held": held - before, "after": resident_mib() - before}))
    """
)


def _clean_environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_") and k != allocator.ALLOCATOR_ENV}


def _freed(mode: str, env: dict[str, str]) -> dict[str, float]:
    done = subprocess.run([sys.executable, "-c", _FREED, mode], capture_output=True, text=True, env=env, check=True)
    result: dict[str, float] = json.loads(done.stdout)
    return result


@glibc
def test_a_freed_array_stays_in_the_process_only_when_freed_memory_is_kept() -> None:
    default = _freed("default", _clean_environment())
    kept = _freed("keep", _clean_environment())
    assert default["held"] > 40 and kept["held"] > 40
    assert default["after"] < 8  # its own pages, given back on free
    assert kept["applied"] and kept["after"] > 40  # left at the top of the heap for the next array


@glibc
@pytest.mark.parametrize("name, value", [("MALLOC_TRIM_THRESHOLD_", "131072"), (allocator.ALLOCATOR_ENV, "default")])
def test_the_environment_can_leave_the_thresholds_as_they_are(name: str, value: str) -> None:
    kept = _freed("keep", {**_clean_environment(), name: value})
    assert kept["applied"] is False and kept["after"] < 8


def test_the_command_keeps_freed_memory() -> None:
    code = textwrap.dedent(
        """
        import sys
        from ceasefire.cli import main
        from ceasefire.run import allocator
        sys.argv = ["ceasefire", "version"]
        try:
            main()
        except SystemExit:
            pass
        print(allocator._applied)
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=_clean_environment())
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == str(GLIBC)


def _chosen() -> bool:
    """Whether this process's environment sets glibc's thresholds or asks for glibc's defaults."""
    chosen = any(k in os.environ for k in allocator._ENVIRONMENT)
    return chosen or os.environ.get(allocator.ALLOCATOR_ENV, "").strip() == "default"


def _state() -> tuple[bool, bool, bool]:
    return in_worker(), _chosen(), allocator._applied


@glibc
def test_worker_processes_keep_freed_memory() -> None:
    # the workers start with the environment of the fork server (this process's when it started:
    # a Dask nanny started since then leaves MALLOC_TRIM_THRESHOLD_ here): where it sets glibc's
    # thresholds (or asks for glibc's defaults), they leave them as they are
    with executor_for(2) as ex:
        seen = [state for _, state in ex.map_unordered(_state, [()] * 4)]
    assert len(seen) == 4 and all(worker and applied is not chosen for worker, chosen, applied in seen)


@pytest.mark.parametrize(
    "environ, expected",
    [
        ({}, None),
        ({"MALLOC_TRIM_THRESHOLD_": "65536"}, "MALLOC_TRIM_THRESHOLD_"),
        ({"MALLOC_MMAP_THRESHOLD_": "65536"}, "MALLOC_MMAP_THRESHOLD_"),
        ({"MALLOC_TRIM_THRESHOLD_": "268435456", "MALLOC_MMAP_THRESHOLD_": "67108864"}, None),
    ],
)
def test_one_threshold_set_alone_is_named(environ: dict[str, str], expected: str | None) -> None:
    assert allocator.one_threshold_set(environ) == expected


def test_a_dask_cluster_whose_nanny_sets_one_threshold_is_warned_of() -> None:
    import dask
    from distributed import LocalCluster

    def enter(cluster: LocalCluster) -> list[str]:
        with warnings.catch_warnings(record=True) as caught, executor_for(scheduler=cluster.scheduler_address):
            warnings.simplefilter("always")
        return [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning) and "MALLOC" in str(w.message)]

    # worker processes started by nannies, which set MALLOC_TRIM_THRESHOLD_=65536 by default
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        warned = enter(cluster)
    assert len(warned) == 1 and "MALLOC_TRIM_THRESHOLD_" in warned[0] and "pre-spawn-environ" in warned[0]
    both = {"MALLOC_TRIM_THRESHOLD_": "268435456", "MALLOC_MMAP_THRESHOLD_": "67108864"}
    with dask.config.set({"distributed.nanny.pre-spawn-environ": both}):
        with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
            assert enter(cluster) == []
