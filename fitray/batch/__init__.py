"""The batch ETL: new documents -> Arrow -> metadata join -> metrics -> Parquet -> warehouse.

Steps are plain functions (I/O at the edges, pure Arrow in the middle); ``flows/etl.py`` runs
them as Prefect tasks on Ray, :func:`fitray.batch.pipeline.run_batch` runs them in-process.
"""

from __future__ import annotations

__all__: list[str] = []
