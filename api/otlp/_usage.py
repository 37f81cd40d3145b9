"""A span's token counts and cost: Langfuse's usage and cost details first, then OTel GenAI,
then OpenInference; a cost nobody reported is priced from the model's list price, prompt
cache reads and writes at the model's cache rates.

Tracewire's `input_tokens` counts every prompt token, cached ones included, as OTel GenAI
and OpenInference define their prompt counts; counts that leave cache tokens out (Langfuse's
own `input`, Anthropic's `input_tokens`) get them added back.
"""

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from tracewire.api.otlp._values import first, integer, json_or_text, number
from tracewire.recorder.prices import cost_of

if TYPE_CHECKING:
    from tracewire.api.otlp._mapping import SpanFields

# Keys of `langfuse.observation.usage_details`, by what the SDKs put there: OpenAI's raw
# usage (its prompt count includes cached tokens), Langfuse's normalised keys (which do not,
# the cache counts are kept apart), Anthropic's raw usage (neither).
_INCLUSIVE_INPUT = ("prompt_tokens", "promptTokens")
_EXCLUSIVE_INPUT = ("input", "input_tokens", "inputTokens")
_OUTPUT = ("output", "completion_tokens", "output_tokens", "completionTokens", "outputTokens")
_CACHE_READ = ("input_cache_read", "input_cached_tokens", "cache_read_input_tokens")
_CACHE_WRITE = ("input_cache_creation", "cache_creation_input_tokens", "input_cache_write")

_ATTR_INPUT = ("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens", "llm.token_count.prompt")
_ATTR_OUTPUT = (
    "gen_ai.usage.output_tokens",
    "gen_ai.usage.completion_tokens",
    "llm.token_count.completion",
)
_ATTR_CACHE_READ = (
    "gen_ai.usage.cache_read.input_tokens",
    "gen_ai.usage.cache_read_input_tokens",
    "llm.token_count.prompt_details.cache_read",
)
_ATTR_CACHE_WRITE = (
    "gen_ai.usage.cache_creation.input_tokens",
    "gen_ai.usage.cache_creation_input_tokens",
    "llm.token_count.prompt_details.cache_write",
)


def fill_usage(attrs: Mapping[str, Any], fields: "SpanFields") -> None:
    """Set the token counts and cost of `fields` (its model already set)."""
    usage = json_or_text(attrs.get("langfuse.observation.usage_details"))
    if isinstance(usage, dict):
        _langfuse_usage(usage, fields)
    if fields.input_tokens is None:
        fields.input_tokens = integer(first(attrs, *_ATTR_INPUT))
    if fields.output_tokens is None:
        fields.output_tokens = integer(first(attrs, *_ATTR_OUTPUT))
    if fields.cache_read_tokens is None:
        fields.cache_read_tokens = integer(first(attrs, *_ATTR_CACHE_READ))
    if fields.cache_write_tokens is None:
        fields.cache_write_tokens = integer(first(attrs, *_ATTR_CACHE_WRITE))
    cached = (fields.cache_read_tokens or 0) + (fields.cache_write_tokens or 0)
    if fields.input_tokens is not None and cached > fields.input_tokens:
        # More cached than prompt tokens: the reporter's prompt count left them out.
        fields.input_tokens += cached
    fields.cost = _cost(attrs, fields)


def _langfuse_usage(usage: dict[str, Any], fields: "SpanFields") -> None:
    details = usage.get("prompt_tokens_details") or usage.get("input_tokens_details")
    read = integer(first(usage, *_CACHE_READ))
    if read is None and isinstance(details, dict):
        read = integer(details.get("cached_tokens"))
    write = integer(first(usage, *_CACHE_WRITE))
    inclusive = integer(first(usage, *_INCLUSIVE_INPUT))
    exclusive = integer(first(usage, *_EXCLUSIVE_INPUT))
    if inclusive is None and isinstance(details, dict):
        # OpenAI's Responses API: `input_tokens` with its details, cached tokens included.
        inclusive, exclusive = exclusive, None
    if inclusive is not None:
        fields.input_tokens = inclusive
    elif exclusive is not None:
        fields.input_tokens = exclusive + (read or 0) + (write or 0)
    fields.output_tokens = integer(first(usage, *_OUTPUT))
    fields.cache_read_tokens, fields.cache_write_tokens = read, write


def _cost(attrs: Mapping[str, Any], fields: "SpanFields") -> float | None:
    costs = json_or_text(attrs.get("langfuse.observation.cost_details"))
    if isinstance(costs, dict) and costs:
        total = number(costs.get("total"))
        parts = [number(v) for v in costs.values()]
        return total if total is not None else sum(p for p in parts if p is not None)
    reported = number(first(attrs, "gen_ai.usage.cost", "llm.cost.total"))
    if reported is not None:
        return reported
    return cost_of(
        fields.model,
        fields.input_tokens,
        fields.output_tokens,
        cache_read_tokens=fields.cache_read_tokens,
        cache_write_tokens=fields.cache_write_tokens,
    )
