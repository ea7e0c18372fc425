"""CPU seconds per kind of process on this machine, between two snapshots of ``/proc``.

What bounds a run on two shared cores is where the CPU went: ``split = CpuSplit()`` before a
side, ``split.stop()`` at its end (before its actors are stopped: a process that is gone by
then is not counted), then ``split.seconds`` maps each kind of process (a Ray actor's class, a
stack server, the kernel's writeback threads, this driver) to the CPU seconds it used
meanwhile. A process started within the window counts from zero; kinds under 0.05 s are left
out.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["CpuSplit", "cpu_by_process"]

_TICK = os.sysconf("SC_CLK_TCK")
_ACTORS = ("EnrichmentWorker", "BatchProducer", "ConsumerWorker", "_LeaseServer")
_SERVERS = {"postgres": "postgres", "ferretdb": "ferretdb", "raylet": "ray: raylet",
            "gcs_server": "ray: gcs", "prometheus": "prometheus"}  # fmt: skip


def cpu_by_process() -> dict[int, tuple[str, float]]:
    """pid -> (kind, CPU seconds, user + system, it has used so far)."""
    out: dict[int, tuple[str, float]] = {}
    me = os.getpid()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text().rsplit(")", 1)[1].split()
            comm = Path(entry.path, "comm").read_text().strip()
            cmdline = Path(entry.path, "cmdline").read_bytes()[:400].decode(errors="replace")
        except OSError:  # ended while we looked
            continue
        pid = int(entry.name)
        out[pid] = _kind(pid == me, comm, cmdline), (int(stat[11]) + int(stat[12])) / _TICK
    return out


def _kind(is_me: bool, comm: str, cmdline: str) -> str:
    if is_me:
        return "bench driver (generator, routing, Ray calls)"
    for actor in _ACTORS:
        if actor in cmdline or actor[:11] in comm:
            return f"actor {actor}"
    if comm == "java" and "kafka" in cmdline.lower():
        return "kafka"
    for name, kind in _SERVERS.items():
        if comm.startswith(name):
            return kind
    if comm.startswith("kworker"):
        return "kernel workers (writeback)"
    if comm.startswith("ray::") or "ray/dashboard" in cmdline or "default_worker" in cmdline:
        return "ray: other (dashboard agent, idle workers)"
    return "other"


class CpuSplit:
    """Started at creation; :meth:`stop` fills ``seconds`` (CPU used per kind meanwhile)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._before = cpu_by_process()

    def stop(self) -> dict[str, float]:
        used: dict[str, float] = {}
        for pid, (kind, now) in cpu_by_process().items():
            before = self._before.get(pid)
            if before is None or before[0] == kind:  # a reused pid would be a new process
                used[kind] = used.get(kind, 0.0) + now - (before[1] if before else 0.0)
        self.seconds = dict(sorted(((k, round(v, 2)) for k, v in used.items() if v >= 0.05),
                                   key=lambda kv: -kv[1]))  # fmt: skip
        return self.seconds
