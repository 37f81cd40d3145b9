"""List prices: cached prompt tokens cost the model's cache rates, and a model without a
cache price bills them as ordinary input."""

import pytest

from tracewire.recorder.prices import DEFAULT_PRICES, ModelPrice, cost_of


def test_cache_reads_and_writes_are_priced_at_their_own_rates_within_the_prompt() -> None:
    price = ModelPrice(3.00, 15.00, cache_read_per_million=0.30, cache_write_per_million=3.75)

    cost = price.cost(10_000, 1_000, cache_read_tokens=6_000, cache_write_tokens=2_000)

    assert cost == pytest.approx((2_000 * 3.00 + 6_000 * 0.30 + 2_000 * 3.75 + 15_000) / 1e6)


def test_a_model_without_cache_prices_bills_cached_tokens_as_input() -> None:
    price = ModelPrice(2.00, 6.00)

    assert price.cost(1_000, 0, cache_read_tokens=900, cache_write_tokens=100) == price.cost(
        1_000, 0
    )


def test_cached_gpt_4o_input_costs_half_the_input_rate() -> None:
    cost = cost_of("gpt-4o-2024-08-06", 1_000, 100, cache_read_tokens=800)

    assert cost == pytest.approx((200 * 2.50 + 800 * 1.25 + 100 * 10.00) / 1e6)
    assert cost_of("gpt-4o", 1_000, 100) == pytest.approx((1_000 * 2.50 + 100 * 10.00) / 1e6)


def test_cache_counts_larger_than_the_prompt_never_make_a_negative_input_charge() -> None:
    price = DEFAULT_PRICES["claude-haiku-4-5"]

    assert price.cost(100, 0, cache_read_tokens=1_000) == pytest.approx(1_000 * 0.10 / 1e6)


def test_every_default_cache_price_is_below_input_for_reads_and_not_below_it_for_writes() -> None:
    for price in DEFAULT_PRICES.values():
        if price.cache_read_per_million is not None:
            assert price.cache_read_per_million < price.input_per_million
        if price.cache_write_per_million is not None:
            assert price.cache_write_per_million >= price.input_per_million
