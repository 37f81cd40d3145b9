"""Every type and every field of the schema has a description (GraphiQL shows them)."""

from graphql import GraphQLInputObjectType, GraphQLInterfaceType, GraphQLObjectType

from tracewire.schema import schema

BUILT_IN = {"String", "Int", "Float", "Boolean", "ID"}


def test_every_type_and_field_is_described() -> None:
    missing = []
    for name, graphql_type in schema._schema.type_map.items():
        if name.startswith("__") or name in BUILT_IN:
            continue
        if not graphql_type.description:
            missing.append(name)
        if isinstance(
            graphql_type, GraphQLObjectType | GraphQLInputObjectType | GraphQLInterfaceType
        ):
            missing += [
                f"{name}.{field}" for field, f in graphql_type.fields.items() if not f.description
            ]

    assert missing == []
