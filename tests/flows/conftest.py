from tests.warehouse.conftest import backend, batch_settings

__all__ = ["backend", "batch_settings"]
