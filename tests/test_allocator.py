"""The allocator's thresholds: freed arrays stay in the process, where the command and its workers run."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import textwrap
import time

import pytest

from ceasefire.run import allocator
from ceasefire.run.workers import in_worker, parallel_map

glibc = pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's"
)

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
    return {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}


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
def test_thresholds_set_in_the_environment_are_left_as_they_are() -> None:
    env = {**_clean_environment(), "MALLOC_TRIM_THRESHOLD_": "131072"}
    assert _freed("keep", env)["applied"] is False


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
    expected = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"
    assert done.stdout.strip().splitlines()[-1] == str(expected)


def _state() -> tuple[bool, bool]:
    time.sleep(0.2)  # long enough for the pool's processes to take some units
    return in_worker(), allocator._applied


@glibc
def test_worker_processes_keep_freed_memory() -> None:
    if any(k in os.environ for k in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")):
        pytest.skip("the environment sets glibc's thresholds, which the workers leave as they are")
    in_pool: list[bool] = []
    deadline = time.monotonic() + 60  # the pool starts in the background; until then units run here
    while not in_pool and time.monotonic() < deadline:
        in_pool = [applied for _, (worker, applied) in parallel_map(_state, [()] * 4, 2) if worker]
    assert in_pool and all(in_pool)
