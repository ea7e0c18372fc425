"""Redshift warehouse: Parquet staged on S3 -> ``COPY ... FORMAT AS PARQUET`` -> merge.

Everything runs in one transaction (redshift-connector starts one implicitly): a temporary
staging table, the COPY from the load's S3 prefix, the anti-join merge into the target and
the ``loads`` row. Credentials for COPY are the IAM role (preferred) or the AWS keys from
settings; they are spliced into the COPY text because Redshift cannot bind them, so that text
is never logged, and any driver error is scrubbed of every secret before it is raised.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pydantic import SecretStr

from fitray.config import Settings
from fitray.staging import Staging
from fitray.warehouse.base import LoadRecord, LoadResult, Warehouse
from fitray.warehouse.exceptions import WarehouseError, WarehouseUnavailable
from fitray.warehouse.sql import (
    create_loads_sql,
    create_target_sql,
    insert_load_sql,
    merge_sql,
    watermark_sql,
)

__all__ = ["RedshiftWarehouse", "copy_sql"]

STAGING_TABLE = "staged_rows"


def copy_sql(
    s3_prefix: str, iam_role: str | None, access_key: SecretStr, secret_key: SecretStr
) -> str:
    """The COPY statement; holds credentials when no IAM role is set: never log it."""
    if iam_role:
        auth = f"IAM_ROLE '{_quote(iam_role)}'"
    else:
        auth = (
            f"ACCESS_KEY_ID '{_quote(access_key.get_secret_value())}' "
            f"SECRET_ACCESS_KEY '{_quote(secret_key.get_secret_value())}'"
        )
    return f"COPY {STAGING_TABLE} FROM '{_quote(s3_prefix)}' {auth} FORMAT AS PARQUET"


class RedshiftWarehouse(Warehouse):
    dialect = "redshift"

    def __init__(
        self,
        connect: Callable[[], Any],
        iam_role: str | None,
        access_key: SecretStr,
        secret_key: SecretStr,
        secrets: tuple[SecretStr | None, ...] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._connect_fn = connect
        self._iam_role, self._access_key, self._secret_key = iam_role, access_key, secret_key
        self._secrets = [s.get_secret_value() for s in (access_key, secret_key, *secrets) if s]

    def __repr__(self) -> str:
        return f"RedshiftWarehouse(iam_role={self._iam_role!r}, credentials=<redacted>)"

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: Any) -> RedshiftWarehouse:
        def connect() -> Any:
            import redshift_connector

            password = settings.redshift_password
            return redshift_connector.connect(
                host=settings.redshift_host,
                port=settings.redshift_port,
                database=settings.redshift_database,
                user=settings.redshift_user,
                password=password.get_secret_value() if password else None,
            )

        return cls(
            connect,
            settings.redshift_iam_role,
            settings.aws_access_key_id,
            settings.aws_secret_access_key,
            secrets=(settings.redshift_password,),
            **kwargs,
        )

    def read_watermark(self) -> datetime | None:
        rows = self._run(lambda cur: (cur.execute(watermark_sql()), cur.fetchone())[1])
        value = rows[0] if rows else None
        return value.astimezone(UTC) if value is not None else None

    def load(self, staging: Staging, record: LoadRecord) -> LoadResult:
        if not staging.is_s3:
            raise WarehouseError(
                f"Redshift COPY reads from S3; set FITRAY_STAGING_URL=s3://bucket/prefix "
                f"(now {staging.url})"
            )
        return self._run(lambda cur: self._merge(cur, staging.prefix(record.load_id), record))

    def _merge(self, cur: Any, prefix: str, record: LoadRecord) -> LoadResult:
        cur.execute(create_target_sql("redshift", STAGING_TABLE, temp=True))
        cur.execute(copy_sql(prefix, self._iam_role, self._access_key, self._secret_key))
        cur.execute(f"SELECT COUNT(*) FROM {STAGING_TABLE}")
        staged = int(cur.fetchone()[0])
        cur.execute(merge_sql("redshift", STAGING_TABLE))
        result = LoadResult(record.load_id, staged, max(cur.rowcount, 0))
        cur.execute(insert_load_sql("%s"), record.row(result))
        cur.execute(f"DROP TABLE {STAGING_TABLE}")
        return result

    def _run(self, work: Callable[[Any], Any]) -> Any:
        conn = self._open()
        try:
            cursor = conn.cursor()
            cursor.execute(create_target_sql("redshift"))
            cursor.execute(create_loads_sql("redshift"))
            value = work(cursor)
            self._about_to_commit()
            conn.commit()
            return value
        except Exception as exc:
            conn.rollback()
            if _is_driver_error(exc):
                raise WarehouseError(f"Redshift: {self._scrub(exc)}") from None
            raise
        finally:
            conn.close()

    def _open(self) -> Any:
        try:
            return self._connect_fn()
        except Exception as exc:
            if not _is_driver_error(exc) and not isinstance(exc, OSError):
                raise
            raise WarehouseUnavailable(f"Redshift not reachable: {self._scrub(exc)}") from None

    def _scrub(self, exc: BaseException) -> str:
        text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text


def _is_driver_error(exc: BaseException) -> bool:
    module = type(exc).__module__ or ""
    return module.startswith("redshift_connector")


def _quote(text: str) -> str:
    return text.replace("'", "''")
