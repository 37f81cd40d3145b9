from collections.abc import Callable
from typing import Any

import strawberry
from strawberry.types.field import StrawberryField

FieldDecorator = Callable[[Callable[..., Any]], StrawberryField]


def field(*, description: str) -> FieldDecorator:
    """`@strawberry.field(description=...)`, typed: Strawberry's overload for it returns Any,
    which strict mypy rejects as an untyped decorator."""
    decorator: FieldDecorator = strawberry.field(description=description)
    return decorator


def subscription(*, description: str) -> FieldDecorator:
    """`@strawberry.subscription(description=...)`, typed (see `field`)."""
    decorator: FieldDecorator = strawberry.subscription(description=description)
    return decorator
