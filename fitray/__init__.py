"""fitray: enrich workout events with calories burned, at high throughput, on Ray."""

from fitray.config import Settings, get_settings
from fitray.exceptions import (
    ConfigError,
    FitrayError,
    ServiceUnavailable,
    TerminalError,
    TransientError,
)

__all__ = [
    "ConfigError",
    "FitrayError",
    "ServiceUnavailable",
    "Settings",
    "TerminalError",
    "TransientError",
    "__version__",
    "get_settings",
]

__version__ = "0.1.0"
