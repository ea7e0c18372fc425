"""Process plumbing for the local stack: pid files, ports, deadlines, required tools.

Each server runs as a child in its own session (so a stop reaches its whole process group)
with stdout/stderr in ``.stack/logs/<name>.log`` and its pid in ``.stack/pids/<name>.pid``.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from fitray.stack.exceptions import StackError

__all__ = [
    "ProcessFiles",
    "port_in_use",
    "require_tool",
    "run_checked",
    "tail",
    "wait_until",
]


# Servers we spawned in this process, by pid: kept so Python neither warns about a running child
# being collected nor leaves a dead one as a zombie (``poll`` reaps it).
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


@atexit.register
def _leave_servers_running() -> None:
    """Servers outlive the command that started them on purpose: tell Popen not to warn."""
    for child in _CHILDREN.values():
        if child.poll() is None:
            child.returncode = 0


class ProcessFiles:
    """Where one server's pid and log live, and how to start and stop it."""

    def __init__(self, stack_dir: Path, name: str) -> None:
        self.name = name
        self.pid_path = stack_dir / "pids" / f"{name}.pid"
        self.log_path = stack_dir / "logs" / f"{name}.log"

    def pid(self) -> int | None:
        """The recorded pid if that process is still alive (a stale file is removed)."""
        try:
            pid = int(self.pid_path.read_text().strip())
        except (OSError, ValueError):
            return None
        if _alive(pid):
            return pid
        self.pid_path.unlink(missing_ok=True)
        return None

    def spawn(
        self,
        argv: Sequence[str],
        *,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        user: str | None = None,
    ) -> int:
        self.pid_path.parent.mkdir(parents=True, exist_ok=True)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            log.write(f"\n--- fitray stack: starting {self.name}: {argv[0]}\n".encode())
            log.flush()
            proc = subprocess.Popen(
                list(argv),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, **(env or {})},
                cwd=cwd,
                start_new_session=True,
                user=user,
            )
        _CHILDREN[proc.pid] = proc
        self.pid_path.write_text(str(proc.pid))
        return proc.pid

    def stop(self, timeout_s: float = 20.0) -> bool:
        """SIGTERM the process group, SIGKILL it after ``timeout_s``; True if one was running."""
        pid = self.pid()
        if pid is None:
            return False
        _signal_group(pid, signal.SIGTERM)
        if not _wait_dead(pid, timeout_s):
            _signal_group(pid, signal.SIGKILL)
            _wait_dead(pid, 5.0)
        self.pid_path.unlink(missing_ok=True)
        return True


def _alive(pid: int) -> bool:
    child = _CHILDREN.get(pid)
    if child is not None and child.poll() is not None:
        del _CHILDREN[pid]
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child is dead for our purposes
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except OSError:
        return True


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def _wait_dead(pid: int, timeout_s: float) -> bool:
    return wait_until(lambda: not _alive(pid), timeout_s, raise_on_timeout=False)


def wait_until(
    predicate: Callable[[], bool],
    timeout_s: float,
    *,
    interval_s: float = 0.25,
    what: str = "",
    raise_on_timeout: bool = True,
) -> bool:
    """Poll ``predicate`` until it is true or the deadline passes (then raise or return False)."""
    deadline = time.monotonic() + timeout_s
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            if raise_on_timeout:
                raise StackError(f"timed out after {timeout_s:.0f}s waiting for {what}")
            return False
        time.sleep(interval_s)


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def require_tool(command: str, hint: str) -> str:
    """Absolute path of ``command`` or a :class:`StackError` saying how to install it."""
    path = shutil.which(command)
    if path is None:
        raise StackError(f"'{command}' not found on PATH: {hint}")
    return path


def run_checked(
    argv: Sequence[str],
    *,
    what: str,
    log_path: Path,
    timeout_s: float,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    user: str | None = None,
) -> None:
    """Run an install/setup step to completion, output appended to ``log_path``."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        log.write(f"\n--- fitray stack: {what}: {' '.join(argv)}\n".encode())
        log.flush()
        try:
            result = subprocess.run(
                list(argv),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=cwd,
                env={**os.environ, **(env or {})},
                timeout=timeout_s,
                user=user,
            )
        except subprocess.TimeoutExpired:
            raise StackError(f"{what} took longer than {timeout_s:.0f}s; see {log_path}") from None
    if result.returncode != 0:
        raise StackError(f"{what} failed (exit {result.returncode}); see {log_path}")


def tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""
