"""A span's token counts and cost: Langfuse's usage and cost details first, then OTel GenAI,
then OpenInference; a cost nobody reported is priced from the model's list price, prompt
cache reads and writes at the model's cache rates.

Tracewire's `input_tokens` counts every prompt token, cached ones included, as OTel GenAI
and OpenInference define their prompt counts; counts that leave cache tokens out (Langfuse's
own `input`, Anthropic's `input_tokens`) get them added back.
"""

from collections.abc import Mapping
from typing import Any, NamedTuple

from tracewire.api.otlp._values import first, integer, json_or_text, number
from tracewire.recorder._records import named
from tracewire.recorder.prices import cost_of

# Keys of `langfuse.observation.usage_details`, by what the SDKs put there: OpenAI's raw
# usage (its prompt count includes cached tokens), Langfuse's normalised keys (which do not,
# the cache counts are kept apart), Anthropic's raw usage (neither).
_INCLUSIVE_INPUT = ("prompt_tokens", "promptTokens")
_EXCLUSIVE_INPUT = ("input", "input_tokens", "inputTokens")
_OUTPUT = ("output", "completion_tokens", "output_tokens", "completionTokens", "outputTokens")
_CACHE_READ = ("input_cache_read", "input_cached_tokens", "cache_read_input_tokens")
_CACHE_WRITE = ("input_cache_creation", "cache_creation_input_tokens", "input_cache_write")

# The span attributes of each count and of a reported cost, strongest first: for the
# span's `Precedence`.
USAGE_KEYS: dict[str, tuple[str, ...]] = {
    "langfuse_usage": ("langfuse.observation.usage_details",),
    "langfuse_cost": ("langfuse.observation.cost_details",),
    "input_tokens": (
        "gen_ai.usage.input_tokens",
        "gen_ai.usage.prompt_tokens",
        "llm.token_count.prompt",
    ),
    "output_tokens": (
        "gen_ai.usage.output_tokens",
        "gen_ai.usage.completion_tokens",
        "llm.token_count.completion",
    ),
    "cache_read_tokens": (
        "gen_ai.usage.cache_read.input_tokens",
        "gen_ai.usage.cache_read_input_tokens",
        "llm.token_count.prompt_details.cache_read",
    ),
    "cache_write_tokens": (
        "gen_ai.usage.cache_creation.input_tokens",
        "gen_ai.usage.cache_creation_input_tokens",
        "llm.token_count.prompt_details.cache_write",
    ),
    "cost": ("gen_ai.usage.cost", "llm.cost.total"),
}


class Usage(NamedTuple):
    """Made with `named`, which skips the NamedTuple constructor's Python frame."""

    input_tokens: int | None = None
    output_tokens: int | None = None
    # Parts of input_tokens: prompt tokens read from / written to the vendor's prompt cache.
    cache_read_tokens: int | None = None
    cache_write_tokens: int | None = None
    cost: float | None = None


NO_USAGE = Usage()


def usage_of(picked: Mapping[str, Any], model: str | None) -> Usage:
    """The token counts and cost of a span of `model`; `picked` holds the values of
    `USAGE_KEYS` the span has."""
    if picked.keys().isdisjoint(USAGE_KEYS):
        return NO_USAGE  # no count, no cost: nothing to price either
    input = output = read = write = None
    usage = picked.get("langfuse_usage")
    if usage is not None and isinstance(usage := json_or_text(usage), dict):
        input, output, read, write = _langfuse_usage(usage)
    if input is None:
        input = integer(picked.get("input_tokens"))
    if output is None:
        output = integer(picked.get("output_tokens"))
    if read is None:
        read = integer(picked.get("cache_read_tokens"))
    if write is None:
        write = integer(picked.get("cache_write_tokens"))
    cached = (read or 0) + (write or 0)
    if input is not None and cached > input:
        # More cached than prompt tokens: the reporter's prompt count left them out.
        input += cached
    cost = _cost(picked, model, input, output, read, write)
    return named(Usage, (input, output, read, write, cost))


_Counts = tuple[int | None, int | None, int | None, int | None]


def _langfuse_usage(usage: dict[str, Any]) -> _Counts:
    """(input, output, cache read, cache write) tokens of Langfuse's usage details."""
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
    input = inclusive
    if inclusive is None and exclusive is not None:
        input = exclusive + (read or 0) + (write or 0)
    return input, integer(first(usage, *_OUTPUT)), read, write


def _cost(
    picked: Mapping[str, Any],
    model: str | None,
    input: int | None,
    output: int | None,
    read: int | None,
    write: int | None,
) -> float | None:
    costs = picked.get("langfuse_cost")
    if costs is not None and isinstance(costs := json_or_text(costs), dict) and costs:
        total = number(costs.get("total"))
        parts = [number(v) for v in costs.values()]
        return total if total is not None else sum(p for p in parts if p is not None)
    reported = picked.get("cost")
    if reported is not None and (reported := number(reported)) is not None:
        return reported
    return cost_of(model, input, output, cache_read_tokens=read, cache_write_tokens=write)
