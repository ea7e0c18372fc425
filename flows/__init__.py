"""Prefect flows and deployments of fitray."""

__all__: list[str] = []
