"""CPU use over a measured interval: of this process (the host) and of the whole machine.

Saying why throughput stops growing needs both: a host near 1.0 core is bound by its own event loop
(one core, the GIL); a machine near all its cores is bound by the CPU of host, workers and server
together.
"""

from __future__ import annotations

import os
import resource
import time
from dataclasses import dataclass


def _machine_jiffies() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs since boot."""
    with open("/proc/stat") as f:
        parts = [int(x) for x in f.readline().split()[1:]]
    idle = parts[3] + (parts[4] if len(parts) > 4 else 0)
    total = sum(parts[:8])
    return total - idle, total


def _self_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass
class CpuUse:
    """CPU used during an interval, in cores (1.0 = one core busy the whole time)."""

    wall_s: float
    host_cores: float
    machine_cores: float
    nproc: int

    def describe(self) -> str:
        """e.g. "host 0.97 cores, machine 1.85 of 2 cores"."""
        return f"host {self.host_cores:.2f} cores, machine {self.machine_cores:.2f} of {self.nproc} cores"


class CpuMeter:
    """Start with `CpuMeter()`, read with `.stop()`."""

    def __init__(self) -> None:
        self._wall = time.perf_counter()
        self._self = _self_cpu()
        self._busy, self._total = _machine_jiffies()

    def stop(self) -> CpuUse:
        """CPU use since the meter was made."""
        wall = time.perf_counter() - self._wall
        busy, total = _machine_jiffies()
        nproc = os.cpu_count() or 1
        machine = nproc * (busy - self._busy) / max(1, total - self._total)
        return CpuUse(
            wall_s=wall,
            host_cores=(_self_cpu() - self._self) / max(wall, 1e-9),
            machine_cores=machine,
            nproc=nproc,
        )
