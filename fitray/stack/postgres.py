"""PostgreSQL from Debian's packages, a private cluster under ``.stack/data/postgres``.

``initdb`` refuses to run as root, so as root the cluster is owned and run by the ``postgres``
user (the Debian package creates it); as anyone else it runs as that user. Unix sockets are
off: clients use TCP on loopback with a password.
"""

from __future__ import annotations

import glob
import grp
import os
import pwd
import shutil
import stat
from pathlib import Path

from fitray.stack.base import Service
from fitray.stack.exceptions import StackError
from fitray.stack.process import run_checked

__all__ = ["PostgresService", "unreachable_directory"]

_INSTALL_HINT = "install PostgreSQL server binaries (Debian: apt-get install postgresql)"


def _pg_bin(tool: str) -> str:
    found = shutil.which(tool) if tool != "postgres" else None
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{tool}"), reverse=True)
    path = candidates[0] if candidates else found
    if path is None:
        raise StackError(f"'{tool}' not found: {_INSTALL_HINT}")
    return path


def unreachable_directory(path: Path, user: pwd.struct_passwd) -> Path | None:
    """The first existing directory from ``/`` down to ``path`` that ``user`` cannot enter."""
    groups = {g.gr_gid for g in grp.getgrall() if user.pw_name in g.gr_mem} | {user.pw_gid}
    path = path.resolve()
    for directory in [*reversed(path.parents), path]:
        try:
            info = directory.stat()
        except FileNotFoundError:
            return None  # created later, by us: the ones above were checked
        if info.st_uid == user.pw_uid:
            bit = stat.S_IXUSR
        else:
            bit = stat.S_IXGRP if info.st_gid in groups else stat.S_IXOTH
        if not info.st_mode & bit:
            return directory
    return None


class PostgresService(Service):
    name = "postgres"
    startup_timeout_s = 60.0
    port_setting = "FITRAY_POSTGRES_PORT"

    @property
    def ports(self) -> list[int]:
        return [self.settings.postgres_port]

    @property
    def where(self) -> str:
        s = self.settings
        return f"postgresql://{s.postgres_user}@127.0.0.1:{s.postgres_port}/{s.postgres_database}"

    @property
    def _run_as(self) -> str | None:
        return "postgres" if os.geteuid() == 0 else None

    def install(self) -> None:
        _pg_bin("initdb")
        _pg_bin("postgres")
        if (self.data_dir / "PG_VERSION").exists():
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self._run_as:
            blocked = unreachable_directory(self.data_dir.parent, pwd.getpwnam(self._run_as))
            if blocked is not None:
                raise StackError(
                    f"PostgreSQL runs as the '{self._run_as}' user here (initdb refuses root), "
                    f"which cannot enter {blocked}: `chmod o+x {blocked}`, or move the stack "
                    "to a directory it can reach with FITRAY_STACK_DIR"
                )
        pwfile = self.data_dir.parent / "postgres.pw"
        pwfile.write_text(self.settings.postgres_password.get_secret_value() + "\n")
        try:
            if self._run_as:
                user = pwd.getpwnam(self._run_as)
                for path in (self.data_dir, pwfile):
                    os.chown(path, user.pw_uid, user.pw_gid)
            run_checked(
                [
                    _pg_bin("initdb"),
                    "-D",
                    str(self.data_dir),
                    "-U",
                    self.settings.postgres_user,
                    f"--pwfile={pwfile}",
                    "--auth=scram-sha-256",
                    "-E",
                    "UTF8",
                    "--locale=C.UTF-8",
                ],
                what="initialising the PostgreSQL cluster",
                log_path=self.files.log_path,
                timeout_s=120,
                user=self._run_as,
            )
        finally:
            pwfile.unlink(missing_ok=True)

    def start(self) -> None:
        self.files.spawn(
            [
                _pg_bin("postgres"),
                "-D",
                str(self.data_dir),
                "-p",
                str(self.settings.postgres_port),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "unix_socket_directories=",
                "-c",
                "max_connections=200",
                "-c",
                "fsync=on",
            ],
            user=self._run_as,
            cwd=Path("/"),
        )

    def check(self) -> str:
        import psycopg

        try:
            with psycopg.connect(
                self.settings.postgres_conninfo,
                dbname="postgres",
                autocommit=True,
                connect_timeout=3,
            ) as conn:
                version = conn.execute("select current_setting('server_version')").fetchone()
                self._ensure_database(conn)
        except psycopg.Error as exc:
            raise StackError(f"PostgreSQL not usable: {str(exc).splitlines()[0]}") from None
        return f"query ok (PostgreSQL {version[0] if version else '?'})"

    def _ensure_database(self, conn) -> None:  # type: ignore[no-untyped-def]
        name = self.settings.postgres_database
        exists = conn.execute("select 1 from pg_database where datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(f'create database "{name}"')
