"""FerretDB 1.24.x (MongoDB wire protocol) on PostgreSQL (default) or SQLite, built from Go.

``go install`` of v1.24.x builds a binary that panics at start (its module zip lacks the
generated ``build/version/version.txt``), so we copy the module source out of Go's module
cache, write that file, and ``go build`` it into ``<cache>/bin``. Builds are cached by Go.

Why PostgreSQL by default: FerretDB 1.24 on SQLite pushes down only a lone ``_id`` equality,
so every other filtered read decodes the whole collection; on PostgreSQL it pushes down each
top-level equality, as ``_jsonb -> 'field' @> value``. Its own indexes are btree, which cannot
serve ``@>``, so the database FerretDB uses gets event triggers that give every single-field,
non-unique FerretDB index a GIN companion (``jsonb_path_ops``) on the same expression, created
and dropped with it. The batch's per-minute reads of ``stored_minute`` then cost what they
return, whatever the collection's size (see fitray.batch.extract).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fitray.config import Settings, redact_url
from fitray.stack.base import Service
from fitray.stack.exceptions import StackError
from fitray.stack.process import require_tool, run_checked

__all__ = ["GIN_COMPANION_SQL", "FerretDBService", "postgres_url", "prepare_postgres"]

MODULE = "github.com/FerretDB/FerretDB"
POSTGRES_WAIT_S = 60.0  # the stack starts PostgreSQL just before FerretDB

# Event triggers on the database FerretDB stores into (idempotent; needs a superuser, which the
# stack's cluster owner is). A FerretDB index on one top-level field is a btree on
# ((_jsonb -> 'field'::text)); its companion is a GIN on the same expression.
GIN_COMPANION_SQL = r"""
CREATE OR REPLACE FUNCTION fitray_gin_companion_create() RETURNS event_trigger
LANGUAGE plpgsql AS $fn$
DECLARE
  made record;
BEGIN
  FOR made IN
    SELECT pg_get_indexdef(i.indexrelid, 1, false) AS key_sql, ic.relname AS index_name,
           c.relname AS table_name, n.nspname AS schema_name
      FROM pg_event_trigger_ddl_commands() AS cmd
      JOIN pg_index AS i ON i.indexrelid = cmd.objid
      JOIN pg_class AS ic ON ic.oid = i.indexrelid
      JOIN pg_am AS am ON am.oid = ic.relam
      JOIN pg_class AS c ON c.oid = i.indrelid
      JOIN pg_namespace AS n ON n.oid = c.relnamespace
     WHERE cmd.object_type = 'index' AND am.amname = 'btree'
       AND NOT i.indisunique AND i.indnkeyatts = 1
  LOOP
    IF made.key_sql ~ '^\(\(_jsonb -> ''[^'']+''::text\)\)$' THEN
      EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON %I.%I USING gin (%s jsonb_path_ops)',
                     left(made.index_name, 59) || '_gin', made.schema_name, made.table_name,
                     made.key_sql);
    END IF;
  END LOOP;
END
$fn$;
CREATE OR REPLACE FUNCTION fitray_gin_companion_drop() RETURNS event_trigger
LANGUAGE plpgsql AS $fn$
DECLARE
  gone record;
BEGIN
  FOR gone IN
    SELECT schema_name, object_name FROM pg_event_trigger_dropped_objects()
     WHERE object_type = 'index' AND original AND object_name NOT LIKE '%\_gin'
  LOOP
    EXECUTE format('DROP INDEX IF EXISTS %I.%I', gone.schema_name,
                   left(gone.object_name, 59) || '_gin');
  END LOOP;
END
$fn$;
DROP EVENT TRIGGER IF EXISTS fitray_gin_companion_create;
CREATE EVENT TRIGGER fitray_gin_companion_create ON ddl_command_end
  WHEN TAG IN ('CREATE INDEX') EXECUTE FUNCTION fitray_gin_companion_create();
DROP EVENT TRIGGER IF EXISTS fitray_gin_companion_drop;
CREATE EVENT TRIGGER fitray_gin_companion_drop ON sql_drop
  WHEN TAG IN ('DROP INDEX') EXECUTE FUNCTION fitray_gin_companion_drop();
"""


def postgres_url(settings: Settings) -> str:
    """FerretDB's ``--postgresql-url`` (holds the password: passed through the environment)."""
    s = settings
    password = quote(s.postgres_password.get_secret_value(), safe="")
    return (
        f"postgres://{quote(s.postgres_user, safe='')}:{password}@{s.postgres_host}:"
        f"{s.postgres_port}/{quote(s.ferretdb_postgres_database, safe='')}"
    )


def prepare_postgres(settings: Settings, wait_s: float = POSTGRES_WAIT_S) -> None:
    """FerretDB's database and its companion-index triggers, once PostgreSQL answers."""
    import psycopg

    name = settings.ferretdb_postgres_database
    with _admin_connection(settings, wait_s) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    with psycopg.connect(
        settings.postgres_conninfo, dbname=name, autocommit=True, connect_timeout=10
    ) as conn:
        conn.execute(GIN_COMPANION_SQL)


def _admin_connection(settings: Settings, wait_s: float) -> Any:
    """A connection to the ``postgres`` database, polling while the server starts."""
    import psycopg

    deadline = time.monotonic() + wait_s
    while True:
        try:
            return psycopg.connect(
                settings.postgres_conninfo, dbname="postgres", autocommit=True, connect_timeout=5
            )
        except psycopg.OperationalError as exc:
            if time.monotonic() > deadline:
                first = (str(exc).strip().splitlines() or ["?"])[0]
                raise StackError(
                    f"FerretDB's PostgreSQL backend is not reachable ({first}); start it with "
                    "`fitray stack up postgres`, or set FITRAY_FERRETDB_BACKEND=sqlite"
                ) from None
            time.sleep(0.2)  # a poll interval while PostgreSQL starts, bounded by the deadline


class FerretDBService(Service):
    name = "ferretdb"
    startup_timeout_s = 60.0
    port_setting = "FITRAY_MONGO_URL / FITRAY_FERRETDB_DEBUG_PORT"

    @property
    def ports(self) -> list[int]:
        return [self.settings.mongo_port, self.settings.ferretdb_debug_port]

    @property
    def where(self) -> str:
        return redact_url(self.settings.mongo_url.get_secret_value())

    @property
    def binary(self) -> Path:
        return self.settings.cache_dir / "bin" / f"ferretdb-{self.settings.ferretdb_version}"

    def install(self) -> None:
        if self.binary.exists():
            return
        go = require_tool("go", "install Go 1.22+ (https://go.dev/doc/install) to build FerretDB")
        version = self.settings.ferretdb_version
        log = self.files.log_path
        run_checked(
            [go, "mod", "download", f"{MODULE}@{version}"],
            what="downloading FerretDB",
            log_path=log,
            timeout_s=600,
            env={"GOFLAGS": "-mod=mod"},
        )
        info = subprocess.run(
            [go, "mod", "download", "-json", f"{MODULE}@{version}"],
            capture_output=True,
            text=True,
            check=False,
        )
        try:
            module_dir = Path(json.loads(info.stdout)["Dir"])
        except (ValueError, KeyError):
            raise StackError(f"go could not locate FerretDB {version}; see {log}") from None
        source = self.settings.cache_dir / "src" / f"ferretdb-{version}"
        shutil.rmtree(source, ignore_errors=True)
        shutil.copytree(module_dir, source)
        for path in source.rglob("*"):
            path.chmod(path.stat().st_mode | 0o200)  # module cache files are read-only
        (source / "build" / "version" / "version.txt").write_text(version + "\n")
        self.binary.parent.mkdir(parents=True, exist_ok=True)
        run_checked(
            [go, "build", "-o", str(self.binary), "./cmd/ferretdb"],
            cwd=source,
            what=f"building FerretDB {version}",
            log_path=log,
            timeout_s=900,
        )

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env: dict[str, str] = {}
        if self.settings.ferretdb_backend == "postgresql":
            prepare_postgres(self.settings)
            backend = ["--handler=postgresql"]
            env["FERRETDB_POSTGRESQL_URL"] = postgres_url(self.settings)  # never in argv
        else:
            (self.data_dir / "sqlite").mkdir(exist_ok=True)
            backend = ["--handler=sqlite", f"--sqlite-url=file:{self.data_dir / 'sqlite'}/"]
        self.files.spawn(
            [
                str(self.binary),
                *backend,
                f"--state-dir={self.data_dir}",
                f"--listen-addr=127.0.0.1:{self.settings.mongo_port}",
                f"--debug-addr=127.0.0.1:{self.settings.ferretdb_debug_port}",
                "--telemetry=disable",
                "--log-level=warn",
            ],
            env=env,
        )

    def check(self) -> str:
        from pymongo import MongoClient
        from pymongo.errors import DuplicateKeyError, PyMongoError

        client: MongoClient = MongoClient(
            self.settings.mongo_url.get_secret_value(),
            serverSelectionTimeoutMS=2000,
            connectTimeoutMS=2000,
        )
        try:
            collection = client["_fitray_health"]["probe"]
            collection.create_index("key", unique=True)
            key = uuid.uuid4().hex
            collection.insert_one({"key": key})
            try:
                collection.insert_one({"key": key})
            except DuplicateKeyError:
                pass
            else:
                raise StackError("document store accepted a duplicate on a unique index")
            found = collection.find_one({"key": key})
            explained = client["_fitray_health"].command(
                "explain", {"find": "probe", "filter": {"key": key}}
            )
            collection.delete_many({"key": key})
            version = client.server_info().get("ferretdbVersion") or client.server_info()["version"]
        except PyMongoError as exc:
            raise StackError(f"document store not usable: {str(exc).splitlines()[0]}") from None
        finally:
            client.close()
        if not found:
            raise StackError("document store lost a document it had acknowledged")
        # the running server's backend, whatever the settings say: only PostgreSQL pushes it down
        pushdown = "equality pushed down" if explained.get("filterPushdown") else "no pushdown"
        return f"insert/find with unique index ok (FerretDB {version}, {pushdown})"
