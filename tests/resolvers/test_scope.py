"""Org scoping cannot be forgotten: resolvers reach tables only through `resolvers.scope`,
and every org-owned table the API reads is known to it."""

import ast
from pathlib import Path

from tracewire.db.models import ApiKey, Base
from tracewire.resolvers import scope

RESOLVERS = Path(__file__).resolve().parents[2] / "resolvers"
UNSCOPED_BUILDERS = {"select", "text", "insert", "update", "delete"}


def test_no_resolver_module_builds_statements_without_the_scope_helper() -> None:
    offenders = []
    for path in RESOLVERS.rglob("*.py"):
        if path == RESOLVERS / "scope.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy"):
                offenders += [
                    f"{path.name}: {alias.name}"
                    for alias in node.names
                    if alias.name in UNSCOPED_BUILDERS
                ]
            if isinstance(node, ast.Import):  # `import sqlalchemy as sa` would allow sa.select
                offenders += [
                    f"{path.name}: import {alias.name}"
                    for alias in node.names
                    if alias.name.startswith("sqlalchemy")
                ]
    assert offenders == []


def test_every_org_owned_table_is_scopable() -> None:
    org_owned = {
        mapper.class_
        for mapper in Base.registry.mappers
        if "org_id" in mapper.columns and mapper.class_ is not ApiKey  # read only by auth
    }

    assert org_owned == set(scope.Scoped.__constraints__)
