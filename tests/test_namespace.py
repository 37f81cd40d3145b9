"""One namespace: every module of the project imports as `tracewire.*`, once, from the
`tracewire` package; none of the rooms' folder names (`api`, `db`...) becomes a module."""

import importlib
import pkgutil
import sys
from pathlib import Path

import tracewire

ROOMS = ("api", "cli", "db", "demo", "live", "migrations", "recorder", "resolvers", "schema",
         "storage")  # fmt: skip
PACKAGE_DIR = Path(tracewire.__file__).parent


def test_every_module_imports_under_tracewire_and_no_room_is_a_top_level_module() -> None:
    names = [
        info.name
        for info in pkgutil.walk_packages(tracewire.__path__, "tracewire.")
        # Alembic runs these by path, inside a migration.
        if not info.name.startswith(("tracewire.migrations.env", "tracewire.migrations.versions."))
    ]
    for name in names:
        module = importlib.import_module(name)
        assert Path(module.__file__ or "").is_relative_to(PACKAGE_DIR), name
    assert {f"tracewire.{room}" for room in ROOMS} <= set(names)
    assert [room for room in ROOMS if room in sys.modules] == []
