"""Each package's public surface is its `__all__`: everything listed exists, nothing
private leaks into it."""

import importlib

import pytest

PACKAGES = ["tracewire", "tracewire.recorder", "tracewire.storage"]


@pytest.mark.parametrize("package", PACKAGES)
def test_all_names_exist_and_are_public(package: str) -> None:
    module = importlib.import_module(package)
    exported = module.__all__
    assert exported == sorted(exported, key=lambda name: (name[0].islower(), name))
    for name in exported:
        assert not name.startswith("_")
        assert hasattr(module, name), f"{package}.{name} is in __all__ but missing"
