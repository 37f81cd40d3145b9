"""Usage of one vendor and model: calls, errors, rate-limit hits, tokens, cost."""

import strawberry

from tracewire.resolvers.usage import UsageLine


@strawberry.type(
    description="Calls to one vendor (and model, when known), from LLM/tool steps and the "
    "recorder's vendor counters together."
)
class VendorUsage:
    vendor: str | None = strawberry.field(description="E.g. openai, tavily; null if unknown.")
    model: str | None = strawberry.field(description="E.g. gpt-4o-mini; null for non-LLM calls.")
    calls: int = strawberry.field(description="How many calls.")
    errors: int = strawberry.field(description="How many of them failed.")
    rate_limit_hits: int = strawberry.field(
        description="Failed calls whose error code says rate limit (e.g. RateLimitError, 429)."
    )
    input_tokens: int = strawberry.field(description="Prompt tokens.")
    output_tokens: int = strawberry.field(description="Completion tokens.")
    cost: float = strawberry.field(description="In US dollars.")

    @classmethod
    def of(cls, line: UsageLine) -> "VendorUsage":
        return cls(
            vendor=line.vendor,
            model=line.model,
            calls=line.calls,
            errors=line.errors,
            rate_limit_hits=line.rate_limit_hits,
            input_tokens=line.input_tokens,
            output_tokens=line.output_tokens,
            cost=float(line.cost),
        )
