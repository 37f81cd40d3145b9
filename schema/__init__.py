"""The GraphQL schema, `tracewire.schema.schema`.

It is built on first access (`schema/_build.py`), so importing one type module
(`tracewire.schema.types.run`) builds nothing. The committed SDL (`schema/schema.graphql`) is
regenerated with
`strawberry export-schema tracewire.schema:schema > schema/schema.graphql`.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tracewire.schema._build import MAX_ALIASES, MAX_DEPTH, MAX_TOKENS, schema

__all__ = ["MAX_ALIASES", "MAX_DEPTH", "MAX_TOKENS", "schema"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from tracewire.schema import _build

        return getattr(_build, name)
    raise AttributeError(f"module 'tracewire.schema' has no attribute {name!r}")
