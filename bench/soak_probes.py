"""What the soak (``bench.bench_soak``) watches, and its plot.

Memory comes from ``/proc/<pid>/smaps_rollup``: RSS for a single fitray process (what the issue
measured), PSS summed over a server's process tree (PostgreSQL's backends share their buffers,
so summing RSS would count them once per backend). Ray's worker processes (``ray::...``) are
left out of the Ray head's tree: they are actors and tasks, counted where they belong.
"""

from __future__ import annotations

import os
import time
from contextlib import suppress
from pathlib import Path
from typing import Any

from fitray.config import Settings

__all__ = ["KafkaProbe", "ProcessMemory", "RayPids", "plot", "remove_soak_state", "stack_servers"]

ROLES = {"EnrichmentWorker": "enricher", "BatchProducer": "producer", "ConsumerWorker": "consumer",
         "_LeaseServer": "limiter"}  # fmt: skip
ACTORS_EVERY_S = 30.0
RATE_WINDOW_S = 20.0  # actors restart rarely: look their pids up again this often


def stack_servers(settings: Settings) -> dict[str, int]:
    """Server name -> pid, from the stack's pid files."""
    out = {}
    for path in sorted((settings.stack_dir / "pids").glob("*.pid")):
        try:
            out[path.stem] = int(path.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue
    return out


class ProcessMemory:
    """RSS of single processes and PSS of process trees, in MB."""

    def rss(self, pids: dict[str, int | list[int]]) -> dict[str, float]:
        out = {}
        for name, pid in pids.items():
            values = [m[0] for p in (pid if isinstance(pid, list) else [pid]) if (m := _memory(p))]
            if values:
                out[name] = round(sum(values), 1)
        return out

    def pss_trees(self, roots: dict[str, int]) -> dict[str, float]:
        children = _children()
        out = {}
        for name, root in roots.items():
            values = [m[1] for pid in _tree(root, children) if (m := _memory(pid))]
            if values:
                out[name] = round(sum(values), 1)
        return out


def _memory(pid: int) -> tuple[float, float] | None:
    """(RSS, PSS) in MB, or None for a process that is gone."""
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return None
    kb = {k: int(v.split()[0]) for k, v in (ln.split(":", 1) for ln in text.splitlines()[1:])}
    return kb.get("Rss", 0) / 1024, kb.get("Pss", 0) / 1024


def _children() -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                stat = Path(entry.path, "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            out.setdefault(ppid, []).append(int(entry.name))
    return out


def _tree(root: int, children: dict[int, list[int]]) -> list[int]:
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        try:
            if Path(f"/proc/{pid}/cmdline").read_bytes().startswith(b"ray::"):
                continue  # a Ray worker: an actor or a task, not the server
        except OSError:
            continue
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


class RayPids:
    """The pids of a driver's actors and workers, by role, from Ray's state API."""

    def __init__(self) -> None:
        self._jobs: dict[int, str] = {}  # driver pid -> job id
        self._actors: dict[str, int] = {}
        self._next_lookup = 0.0

    def fitray(self, stream_pid: int | None, batch_pid: int | None) -> dict[str, int | list[int]]:
        """``driver`` and one entry per actor of the stream; ``batch`` and ``batch-workers``."""
        pids: dict[str, int | list[int]] = {}
        if stream_pid is not None:
            pids["driver"] = stream_pid
            if time.monotonic() >= self._next_lookup and (job := self._job(stream_pid)):
                self._actors = self._actors_of(job) or self._actors
                self._next_lookup = time.monotonic() + (ACTORS_EVERY_S if self._actors else 1.0)
            pids |= self._actors
        if batch_pid is not None:
            pids["batch"] = batch_pid
            if job := self._job(batch_pid):
                pids["batch-workers"] = self._workers_of(job)
        return pids

    def _job(self, driver_pid: int) -> str | None:
        from ray.util.state import list_jobs

        if driver_pid not in self._jobs:
            for job in _quietly(list_jobs, detail=True, limit=10_000):
                info = getattr(job, "driver_info", None)
                if info is not None and str(info.pid) == str(driver_pid):
                    self._jobs[driver_pid] = job.job_id
        return self._jobs.get(driver_pid)

    def _actors_of(self, job: str) -> dict[str, int]:
        from ray.util.state import list_actors

        found = _quietly(list_actors, filters=[("job_id", "=", job), ("state", "=", "ALIVE")],
                         detail=True, limit=1000)  # fmt: skip
        out, seen = {}, dict[str, int]()
        for actor in sorted(found, key=lambda a: a.actor_id):
            role = ROLES.get(actor.class_name, actor.class_name.strip("_").lower())
            index = seen[role] = seen.get(role, -1) + 1
            out[role if role in ("producer", "limiter") else f"{role}-{index}"] = int(actor.pid)
        return out

    def _workers_of(self, job: str) -> list[int]:
        """The processes that ran the job's tasks (Ray's worker records carry no job id)."""
        from ray.util.state import list_tasks

        found = _quietly(list_tasks, filters=[("job_id", "=", job)], detail=True, limit=10_000,
                         raise_on_missing_output=False)  # fmt: skip
        return sorted({int(t.worker_pid) for t in found if t.worker_pid})


def _quietly(call: Any, **kwargs: Any) -> list[Any]:
    """A state API answer, or nothing when the dashboard is slow (the next sample asks again)."""
    try:
        return list(call(timeout=10, **kwargs))
    except Exception:  # a missed lookup costs one sample, never the soak
        return []


class KafkaProbe:
    """The group's lag, and the topic's produced / committed totals (for rates)."""

    def __init__(self, settings: Settings, group_id: str, topic: str) -> None:
        from confluent_kafka import Consumer

        from fitray.clients.kafka import consumer_config

        self.topic = topic
        self._consumer = Consumer(consumer_config(settings, group_id))  # never subscribes

    def sample(self) -> dict[str, int]:
        from confluent_kafka import KafkaException, TopicPartition

        try:
            meta = self._consumer.list_topics(self.topic, timeout=5).topics[self.topic]
            parts = [TopicPartition(self.topic, p) for p in sorted(meta.partitions)]
            committed = self._consumer.committed(parts, timeout=5)
            produced = done = 0
            for tp, c in zip(parts, committed, strict=True):
                low, high = self._consumer.get_watermark_offsets(tp, timeout=5)
                produced, done = produced + high, done + (c.offset if c.offset >= 0 else low)
        except (KafkaException, KeyError):
            return {}  # the topic is not there yet, or the broker is busy: no point this time
        return {"produced": produced, "committed": done, "lag": produced - done}

    def close(self) -> None:
        self._consumer.close()


def remove_soak_state(settings: Settings, env: dict[str, str]) -> None:
    """Drop the soak's database and topics, retire its calorie limiter."""
    from confluent_kafka.admin import AdminClient

    from fitray.calories.shared_limit import api_limit_name
    from fitray.clients.mongo import mongo_client
    from fitray.clients.ray import NAMESPACE

    client = mongo_client(settings)
    client.drop_database(env["FITRAY_MONGO_DATABASE"])
    client.close()
    topics = [env["FITRAY_KAFKA_ENRICHED_TOPIC"], env["FITRAY_KAFKA_DEAD_LETTER_TOPIC"]]
    admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap_servers})
    for future in admin.delete_topics(topics).values():
        _ = future.exception(timeout=30)  # a topic never created is fine
    import ray

    name = api_limit_name(settings.calorie_api_url, env["FITRAY_CALORIE_API_KEY"])
    with suppress(ValueError):  # never created
        ray.kill(ray.get_actor(f"fitray-rate-limit-{name}", namespace=NAMESPACE), no_restart=True)


def _windows(samples: list[dict[str, Any]], seconds: float) -> list[tuple[dict, dict]]:
    """Pairs of samples about ``seconds`` apart, back to back."""
    out, last = [], samples[0]
    for sample in samples[1:]:
        if sample["t_s"] - last["t_s"] >= seconds:
            out.append((last, sample))
            last = sample
    return out


def plot(record: dict[str, Any], path: Path) -> None:
    """Memory of fitray's processes, of the stack's servers, and throughput + lag, over time."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    extra = record["sides"][0]["extra"]
    samples = [s for s in extra["samples"] if "lag" in s]
    t = [s["t_s"] / 60 for s in samples]
    fig, (top, mid, low) = plt.subplots(3, 1, figsize=(12, 11), sharex=True)
    for ax, kind, what in (
        (top, "fitray_mb", "RSS of each fitray process"),
        (mid, "servers_mb", "PSS of each stack server's process tree"),
    ):
        names = sorted({n for s in samples for n in s[kind] if not n.startswith("batch")})
        for name in names:
            ax.plot(t, [s[kind].get(name) for s in samples], label=name, linewidth=1.2)
        ax.set(ylabel="MB", title=what)
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    rates = [(b["t_s"] / 60, (b["produced"] - a["produced"]) / (b["t_s"] - a["t_s"]),
              (b["committed"] - a["committed"]) / (b["t_s"] - a["t_s"]))
             for a, b in _windows(samples, RATE_WINDOW_S)]  # fmt: skip
    low.plot([r[0] for r in rates], [r[1] for r in rates], label="produced/s", linewidth=0.8)
    low.plot([r[0] for r in rates], [r[2] for r in rates], label="stored and committed/s",
             linewidth=0.8)  # fmt: skip
    lag = low.twinx()
    lag.plot(t, [s["lag"] for s in samples], color="tab:red", label="lag", linewidth=1.2)
    lag.set_ylabel("lag (messages)", color="tab:red")
    low.set(xlabel="minutes", ylabel="events/s",
            title=f"throughput ({RATE_WINDOW_S:g} s windows) and consumer lag")  # fmt: skip
    low.legend(loc="upper left", bbox_to_anchor=(1.09, 1.0), fontsize=8)
    lag.legend(loc="upper left", bbox_to_anchor=(1.09, 0.75), fontsize=8)
    for batch in extra["batches"]:
        for ax in (top, mid, low):
            ax.axvspan(batch["start_s"] / 60, batch.get("end_s", batch["start_s"]) / 60,
                       color="grey", alpha=0.15, linewidth=0)  # fmt: skip
    p = record["params"]
    fig.suptitle(
        f"soak: {p['events']:,} events at {p['rate']:g}/s, batch load every "
        f"{p['batch_every_s']:g} s (grey); {record['git']['commit'][:10]}",
        fontsize=11,
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
