"""The schema: its committed SDL is current, its packages export what they say, and one
document cannot ask for unbounded work."""

from pathlib import Path

import pytest
from strawberry.printer import print_schema

from tracewire import resolvers, schema
from tracewire.resolvers import dataloaders
from tracewire.schema import MAX_ALIASES, MAX_TOKENS, types
from tracewire.schema import schema as graphql_schema

SDL = Path(schema.__file__).with_name("schema.graphql")


def test_the_committed_sdl_matches_the_schema() -> None:
    # Regenerate with: strawberry export-schema tracewire.schema:schema > schema/schema.graphql
    assert SDL.read_text() == print_schema(graphql_schema) + "\n"


@pytest.mark.parametrize("package", [schema, types, resolvers, dataloaders])
def test_a_package_exports_exactly_its_public_names(package: object) -> None:
    exported = package.__all__  # type: ignore[attr-defined]

    assert sorted(exported) == sorted(set(exported))
    assert all(hasattr(package, name) for name in exported)


async def test_too_many_aliases_are_refused_before_execution() -> None:
    aliases = " ".join(f"a{i}: __typename" for i in range(MAX_ALIASES + 1))

    result = await graphql_schema.execute(f"{{ {aliases} }}")

    assert result.errors is not None
    assert "aliases found" in result.errors[0].message


async def test_too_long_a_document_is_refused_before_execution() -> None:
    result = await graphql_schema.execute("{ " + "__typename " * MAX_TOKENS + "}")

    assert result.errors is not None
    assert "more than 3000 tokens" in result.errors[0].message
