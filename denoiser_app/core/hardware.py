"""What the machine runs on, in words: the CPU, its instruction sets that matter for speed, the precision.

Speed figures mean little without the machine and the precision beside them:
CPUs with AMX run bfloat16 several times faster than float32, most users'
CPUs have no AMX. The CLI's first line, the window's status bar and every
benchmark report use :func:`describe_compute`.
"""
from __future__ import annotations

import platform
from functools import cache
from pathlib import Path

import torch

# Flags in /proc/cpuinfo and how they are named for people.
SPEED_FLAGS = {
    "amx_tile": "AMX",
    "avx512_bf16": "AVX-512 BF16",
    "avx512f": "AVX-512",
    "avx2": "AVX2",
    "bf16": "BF16",  # Arm's bfloat16 instructions (the "Features" line)
    "asimd": "NEON",
}


@cache
def _cpuinfo() -> str:
    try:
        return Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def cpu_name() -> str:
    """The processor's marketing name where the system tells it, else the platform's word for it."""
    for line in _cpuinfo().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine() or "unknown CPU"


def cpu_features() -> list[str]:
    """The speed-relevant instruction sets this CPU reports, most capable first."""
    flags: set[str] = set()
    for line in _cpuinfo().splitlines():
        if line.startswith(("flags", "Features")):
            flags.update(line.split(":", 1)[1].split())
    return [name for flag, name in SPEED_FLAGS.items() if flag in flags]


def describe_compute(device: torch.device, dtype: torch.dtype) -> str:
    """One line such as ``Intel Xeon (AVX-512 BF16, AVX-512, AVX2; no AMX), float32, 2 threads``."""
    dtype_name = str(dtype).removeprefix("torch.")
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)}, {dtype_name}"
    features = cpu_features()
    if features and "AMX" not in features and platform.machine().lower() in ("x86_64", "amd64"):
        features.append("no AMX")
    listed = f" ({', '.join(features)})" if features else ""
    return f"{cpu_name()}{listed}, {dtype_name}, {torch.get_num_threads()} threads"
