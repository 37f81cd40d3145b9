"""Strawberry's `MaskErrors`, minus its cost on every live message.

The stock extension asks `isinstance(result, <runtime-checkable Protocol>)` for each
result it sees, which walks the protocol's attributes every time: 10-20 µs per message
per subscriber, a tenth of the live fan-out's CPU. Reading `errors` directly is enough.
"""

from strawberry.extensions import MaskErrors


class MaskInternalErrors(MaskErrors):
    def _process_result(self, result: object) -> None:
        errors = getattr(result, "errors", None)
        if errors:
            result.errors = self._process_errors(errors)  # type: ignore[attr-defined]
