"""Redshift cannot run here: check the exact SQL it would receive, and secret hygiene."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import SecretStr

from fitray.config import Settings
from fitray.failpoints import InjectedFault
from fitray.staging import LocalStore, S3Store, Staging
from fitray.warehouse import LoadRecord, WarehouseError, open_warehouse
from fitray.warehouse.redshift import RedshiftWarehouse
from fitray.warehouse.sql import target_columns

ACCESS, SECRET, PASSWORD = "AKIAFAKEACCESS", "s3cr3t/Key+value", "rs-pa55"
NOW = datetime(2024, 5, 1, 12, tzinfo=UTC)


class DriverError(Exception):
    """Stands in for redshift_connector.Error (matched by module name)."""


DriverError.__module__ = "redshift_connector.error"


class FakeCursor:
    def __init__(self, conn: FakeConnection) -> None:
        self.conn, self.rowcount = conn, -1

    def execute(self, sql: str, params: Any = None) -> None:
        self.conn.sql.append((" ".join(sql.split()), params))
        if self.conn.fail_on and self.conn.fail_on in sql:
            raise DriverError(f"ERROR: S3 access denied for statement {sql}")
        self.rowcount = 7 if sql.startswith("INSERT INTO exercises_enriched") else -1

    def fetchone(self) -> tuple[Any, ...]:
        return (10,) if "COUNT(*)" in self.conn.sql[-1][0] else (NOW,)


class FakeConnection:
    def __init__(self, fail_on: str | None = None) -> None:
        self.sql: list[tuple[str, Any]] = []
        self.fail_on, self.committed, self.rolled_back, self.closed = fail_on, 0, 0, False

    def cursor(self) -> FakeCursor:
        return FakeCursor(self)

    def commit(self) -> None:
        self.committed += 1

    def rollback(self) -> None:
        self.rolled_back += 1

    def close(self) -> None:
        self.closed = True


def warehouse(conn: FakeConnection, iam_role: str | None = None, **kw: Any) -> RedshiftWarehouse:
    return RedshiftWarehouse(
        lambda: conn,
        iam_role,
        SecretStr(ACCESS),
        SecretStr(SECRET),
        secrets=(SecretStr(PASSWORD),),
        **kw,
    )


RECORD = LoadRecord("L1", NOW, None, NOW, 10, ("s3://bkt/stage/L1/part-00000.parquet",))
STAGING = Staging(S3Store("s3://bkt/stage", client=None))


def test_load_sends_copy_then_merge_in_one_transaction() -> None:
    conn = FakeConnection()
    result = warehouse(conn, iam_role="arn:aws:iam::123:role/copy").load(STAGING, RECORD)
    statements = [sql for sql, _ in conn.sql]
    assert statements[0].startswith("CREATE TABLE IF NOT EXISTS exercises_enriched (")
    assert "description VARCHAR(65535)" in statements[0]
    assert statements[1].startswith("CREATE TABLE IF NOT EXISTS loads (")
    assert statements[2].startswith("CREATE TEMP TABLE staged_rows (")
    assert statements[3] == (
        "COPY staged_rows FROM 's3://bkt/stage/L1/' "
        "IAM_ROLE 'arn:aws:iam::123:role/copy' FORMAT AS PARQUET"
    )
    assert statements[4] == "SELECT COUNT(*) FROM staged_rows"
    cols = ", ".join(target_columns())
    assert statements[5] == (
        f"INSERT INTO exercises_enriched ({cols}) SELECT "
        + ", ".join(f"s.{c}" for c in target_columns())
        + " FROM staged_rows s WHERE NOT EXISTS "
        "(SELECT 1 FROM exercises_enriched t WHERE t.event_id = s.event_id)"
    )
    assert statements[6].startswith("INSERT INTO loads (load_id, started_at, finished_at")
    assert conn.sql[6][1][0] == "L1" and conn.sql[6][1][5:8] == (10, 7, 3)
    assert statements[7] == "DROP TABLE staged_rows"
    assert (conn.committed, conn.rolled_back, conn.closed) == (1, 0, True)
    assert (result.rows_inserted, result.rows_skipped) == (7, 3)


def test_key_credentials_when_no_role() -> None:
    conn = FakeConnection()
    warehouse(conn).load(STAGING, RECORD)
    copy = next(sql for sql, _ in conn.sql if sql.startswith("COPY"))
    assert f"ACCESS_KEY_ID '{ACCESS}' SECRET_ACCESS_KEY '{SECRET}' FORMAT AS PARQUET" in copy


def test_crash_before_commit_rolls_back() -> None:
    conn = FakeConnection()

    with pytest.raises(InjectedFault):
        warehouse(conn, failpoints={"warehouse.before_commit"}).load(STAGING, RECORD)
    assert (conn.committed, conn.rolled_back) == (0, 1)


def test_driver_errors_never_carry_credentials(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    conn = FakeConnection(fail_on="COPY")
    rs = warehouse(conn)
    with pytest.raises(WarehouseError) as info:
        rs.load(STAGING, RECORD)
    text = f"{info.value!s} {info.value!r} {info.value.__cause__!r} {rs!r} {caplog.text}"
    assert "S3 access denied" in str(info.value)
    for secret in (ACCESS, SECRET, PASSWORD):
        assert secret not in text
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert conn.rolled_back == 1


def test_local_staging_is_refused_with_the_setting_to_fix() -> None:
    with pytest.raises(WarehouseError, match="FITRAY_STAGING_URL=s3://"):
        warehouse(FakeConnection()).load(Staging(LocalStore("/tmp/staging")), RECORD)


def test_settings_secrets_stay_out_of_repr_and_public_view() -> None:
    settings = Settings().model_copy(
        update={
            "redshift_password": SecretStr(PASSWORD),
            "aws_secret_access_key": SecretStr(SECRET),
            "redshift_host": "example.redshift.amazonaws.com",
        }
    )
    rs = open_warehouse(settings, "redshift")
    assert isinstance(rs, RedshiftWarehouse)
    shown = f"{rs!r} {settings!r} {settings.public_view()}"
    assert PASSWORD not in shown and SECRET not in shown
