"""The local stack: every real server fitray uses, run as processes without Docker."""

from fitray.stack.exceptions import StackError
from fitray.stack.manager import SERVICE_TYPES, ServiceStatus, Stack

__all__ = ["SERVICE_TYPES", "ServiceStatus", "Stack", "StackError"]
