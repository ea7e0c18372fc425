"""Consoles shared by every sub-command: results to stdout, errors and progress to stderr."""

from rich.console import Console

console = Console()
err_console = Console(stderr=True)
