"""DuckDB allows one writing process or several reading ones: a load waits (bounded) while
another process reads the file, then goes ahead; beyond the wait it says so in one line."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import duckdb
import pytest

from fitray.warehouse.duckdb import open_duckdb
from fitray.warehouse.exceptions import WarehouseBusy

HOLDER = """
import sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
print("holding", flush=True)
sys.stdin.readline()
con.close()
"""


def hold(path: Path) -> subprocess.Popen[str]:
    """Another process reading the file until its stdin gets a line."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
    return holder


def test_a_writer_waits_for_a_reading_process_then_writes(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    duckdb.connect(str(path)).close()
    holder = hold(path)
    try:
        with pytest.raises(WarehouseBusy, match=r"stayed locked by another process for 0\.2 s"):
            open_duckdb(path, read_only=False, wait_s=0.2)
        opened: list[object] = []
        writer = threading.Thread(
            target=lambda: opened.append(open_duckdb(path, read_only=False, wait_s=30))
        )
        writer.start()
        holder.communicate("release\n", timeout=10)  # the reader lets go and exits
        writer.join(35)
        assert holder.returncode == 0
    finally:
        holder.kill()
        holder.communicate()
    (con,) = opened
    con.execute("CREATE TABLE t AS SELECT 1 AS x")  # type: ignore[attr-defined]
    con.close()  # type: ignore[attr-defined]
