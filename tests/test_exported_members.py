"""Every public module's ``__all__`` names things that exist, and nothing public is hidden."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import fitray

MODULES = sorted(
    info.name
    for info in pkgutil.walk_packages(fitray.__path__, "fitray.")
    if not info.name.rsplit(".", 1)[-1].startswith("_") and not info.ispkg
)


@pytest.mark.parametrize("name", MODULES)
def test_all_names_exist(name: str) -> None:
    module = importlib.import_module(name)
    exported = getattr(module, "__all__", None)
    assert exported is not None, f"{name} declares no __all__"
    missing = [item for item in exported if not hasattr(module, item)]
    assert not missing, f"{name}.__all__ names missing members {missing}"
