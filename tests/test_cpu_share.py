import os
import time
from pathlib import Path

import pytest

from model.cpu_share import CpuSample, machine_busy_seconds, other_processes_cores, sample_cpu


def test_other_processes_get_the_machine_busy_time_that_is_not_ours() -> None:
    start = CpuSample(wall_seconds=100.0, machine_busy_seconds=1000.0, own_seconds=50.0)
    end = CpuSample(wall_seconds=110.0, machine_busy_seconds=1025.0, own_seconds=65.0)
    assert other_processes_cores(start, end) == 1.0


def test_rounding_noise_on_an_idle_machine_is_not_negative() -> None:
    start = CpuSample(0.0, 10.0, 5.0)
    assert other_processes_cores(start, CpuSample(1.0, 10.99, 6.0)) == 0.0


def test_without_the_machine_busy_time_the_share_is_unknown() -> None:
    assert other_processes_cores(CpuSample(0.0, None, 0.0), CpuSample(1.0, None, 1.0)) is None


def test_busy_time_counts_user_nice_system_irq_and_softirq_but_not_idle(tmp_path: Path) -> None:
    stat = tmp_path / "stat"
    stat.write_text("cpu  100 20 30 5000 40 5 7 900 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\n")
    ticks = os.sysconf("SC_CLK_TCK")
    assert machine_busy_seconds(stat) == pytest.approx((100 + 20 + 30 + 5 + 7) / ticks)
    stat.write_text("intr 1 2 3\n")
    assert machine_busy_seconds(stat) is None
    assert machine_busy_seconds(tmp_path / "missing") is None


def test_our_own_spinning_counts_as_ours_and_as_machine_busy_time() -> None:
    start = sample_cpu()
    if start.machine_busy_seconds is None:
        pytest.skip("no /proc/stat here")
    spin = 0.3
    deadline = time.process_time() + spin
    while time.process_time() < deadline:
        pass
    end = sample_cpu()
    # os.times counts user and system time in whole clock ticks, each rounded on its own
    tick = 1 / os.sysconf("SC_CLK_TCK")
    assert end.own_seconds - start.own_seconds >= spin - 2 * tick
    assert end.machine_busy_seconds - start.machine_busy_seconds >= spin - 5 * tick  # /proc/stat is sampled per tick
