"""FerretDB 1.24.x (MongoDB wire protocol) on SQLite, built from its Go module.

``go install`` of v1.24.x builds a binary that panics at start (its module zip lacks the
generated ``build/version/version.txt``), so we copy the module source out of Go's module
cache, write that file, and ``go build`` it into ``<cache>/bin``. Builds are cached by Go.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from pathlib import Path

from fitray.config import redact_url
from fitray.stack.base import Service
from fitray.stack.exceptions import StackError
from fitray.stack.process import require_tool, run_checked

__all__ = ["FerretDBService"]

MODULE = "github.com/FerretDB/FerretDB"


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
        (self.data_dir / "sqlite").mkdir(parents=True, exist_ok=True)
        self.files.spawn(
            [
                str(self.binary),
                "--handler=sqlite",
                f"--sqlite-url=file:{self.data_dir / 'sqlite'}/",
                f"--state-dir={self.data_dir}",
                f"--listen-addr=127.0.0.1:{self.settings.mongo_port}",
                f"--debug-addr=127.0.0.1:{self.settings.ferretdb_debug_port}",
                "--telemetry=disable",
                "--log-level=warn",
            ]
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
            collection.delete_many({"key": key})
            version = client.server_info().get("ferretdbVersion") or client.server_info()["version"]
        except PyMongoError as exc:
            raise StackError(f"document store not usable: {str(exc).splitlines()[0]}") from None
        finally:
            client.close()
        if not found:
            raise StackError("document store lost a document it had acknowledged")
        return f"insert/find with unique index ok (FerretDB {version})"
