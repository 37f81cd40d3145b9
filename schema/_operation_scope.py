"""Each GraphQL operation gets its own context copy, with its own DataLoaders."""

from collections.abc import Iterator

from strawberry.extensions import SchemaExtension

from tracewire.resolvers.context import Context


class OperationScope(SchemaExtension):
    """Swaps the (possibly connection-wide) context for a per-operation copy."""

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context.context
        if isinstance(context, Context):
            self.execution_context.context = context.for_operation()
        yield
