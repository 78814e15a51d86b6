"""How much CPU other processes took while a measurement ran.

The load average cannot tell the benchmark's own threads and worker
processes from anybody else's, so it cried wolf at the end of every run with
parallel CBM3D. Instead this subtracts our own CPU time (this process and its
finished children) from the machine's busy time in ``/proc/stat``. Off Linux
the machine's busy time is unknown and the share is ``None``.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

# /proc/stat "cpu" columns counted as busy: user, nice, system, irq, softirq.
# guest time is already inside user; steal is the hypervisor's, not a process's.
_BUSY_COLUMNS = (0, 1, 2, 5, 6)


@dataclass(frozen=True)
class CpuSample:
    wall_seconds: float
    machine_busy_seconds: float | None  # all processes, since boot, summed over cores
    own_seconds: float  # this process and the children it has waited for


def machine_busy_seconds(stat_path: Path = Path("/proc/stat")) -> float | None:
    try:
        first_line = stat_path.read_text().splitlines()[0]
        ticks_per_second = os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError, AttributeError):
        return None
    fields = first_line.split()
    if len(fields) < 8 or fields[0] != "cpu":
        return None
    return sum(int(fields[1 + column]) for column in _BUSY_COLUMNS) / ticks_per_second


def sample_cpu() -> CpuSample:
    times = os.times()
    own = times.user + times.system + times.children_user + times.children_system
    return CpuSample(time.monotonic(), machine_busy_seconds(), own)


def other_processes_cores(start: CpuSample, end: CpuSample) -> float | None:
    """Cores that other processes kept busy on average between two samples."""
    wall = end.wall_seconds - start.wall_seconds
    if start.machine_busy_seconds is None or end.machine_busy_seconds is None or wall <= 0:
        return None
    others = (end.machine_busy_seconds - start.machine_busy_seconds) - (end.own_seconds - start.own_seconds)
    # clock ticks and rusage round differently, so an idle machine can come out a hair below zero
    return round(max(others, 0.0) / wall, 2)
