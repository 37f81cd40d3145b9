"""Model prices, for the cost of LLM calls whose caller reports tokens but no cost.

`DEFAULT_PRICES` is a snapshot of public list prices in USD per million tokens. Pass your
own mapping (merged over the defaults with `{**DEFAULT_PRICES, ...}`, or alone) wherever a
`prices=` argument is taken, e.g. `TracewireCallbackHandler(rec, prices=...)`.
"""

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ModelPrice:
    """USD per million input (prompt) and output (completion) tokens, and per million prompt
    tokens read from or written to the vendor's prompt cache; a cache price left out (None)
    means those tokens are billed as ordinary input."""

    input_per_million: float
    output_per_million: float
    cache_read_per_million: float | None = None
    cache_write_per_million: float | None = None

    def cost(
        self,
        input_tokens: int,
        output_tokens: int,
        cache_read_tokens: int = 0,
        cache_write_tokens: int = 0,
    ) -> float:
        # `input_tokens` counts every prompt token, cache reads and writes included (OpenAI's
        # prompt_tokens, OTel GenAI's and OpenInference's prompt counts all do), so only the
        # rest of it is billed at the input rate.
        read = self.cache_read_per_million
        write = self.cache_write_per_million
        uncached = max(0, input_tokens - cache_read_tokens - cache_write_tokens)
        return (
            uncached * self.input_per_million
            + cache_read_tokens * (self.input_per_million if read is None else read)
            + cache_write_tokens * (self.input_per_million if write is None else write)
            + output_tokens * self.output_per_million
        ) / 1_000_000


# OpenAI bills cache writes as input and reads at 10-50% of it; Anthropic reads at 10% and
# (5-minute) writes at 125%; Gemini's implicit cache reads at 10% (storage not counted).
DEFAULT_PRICES: Mapping[str, ModelPrice] = {
    "gpt-4o": ModelPrice(2.50, 10.00, 1.25),
    "gpt-4o-mini": ModelPrice(0.15, 0.60, 0.075),
    "gpt-4.1": ModelPrice(2.00, 8.00, 0.50),
    "gpt-4.1-mini": ModelPrice(0.40, 1.60, 0.10),
    "gpt-4.1-nano": ModelPrice(0.10, 0.40, 0.025),
    "gpt-5": ModelPrice(1.25, 10.00, 0.125),
    "gpt-5-mini": ModelPrice(0.25, 2.00, 0.025),
    "gpt-5-nano": ModelPrice(0.05, 0.40, 0.005),
    "o3": ModelPrice(2.00, 8.00, 0.50),
    "o4-mini": ModelPrice(1.10, 4.40, 0.275),
    "claude-opus-4": ModelPrice(15.00, 75.00, 1.50, 18.75),
    "claude-sonnet-4": ModelPrice(3.00, 15.00, 0.30, 3.75),
    "claude-3-5-haiku": ModelPrice(0.80, 4.00, 0.08, 1.00),
    "claude-haiku-4-5": ModelPrice(1.00, 5.00, 0.10, 1.25),
    "gemini-2.5-pro": ModelPrice(1.25, 10.00, 0.125),
    "gemini-2.5-flash": ModelPrice(0.30, 2.50, 0.03),
    "mistral-large": ModelPrice(2.00, 6.00),
}


def price_for(model: str, prices: Mapping[str, ModelPrice] = DEFAULT_PRICES) -> ModelPrice | None:
    """The price of `model`: an exact entry, else the longest entry the name starts with
    (so dated snapshots such as `gpt-4o-mini-2024-07-18` find `gpt-4o-mini`). A vendor
    prefix (`openai/gpt-4o`) is ignored."""
    name = model.strip().lower().rpartition("/")[2]
    if name in prices:
        return prices[name]
    matches = [key for key in prices if name.startswith(key)]
    return prices[max(matches, key=len)] if matches else None


def cost_of(
    model: str | None,
    input_tokens: int | None,
    output_tokens: int | None,
    prices: Mapping[str, ModelPrice] = DEFAULT_PRICES,
    *,
    cache_read_tokens: int | None = None,
    cache_write_tokens: int | None = None,
) -> float | None:
    """The cost of a call, or None when the model or both token counts are unknown. The
    cache counts are parts of `input_tokens`, priced at the model's cache rates."""
    if not model or (input_tokens is None and output_tokens is None):
        return None
    price = price_for(model, prices)
    if price is None:
        return None
    return price.cost(
        input_tokens or 0, output_tokens or 0, cache_read_tokens or 0, cache_write_tokens or 0
    )
