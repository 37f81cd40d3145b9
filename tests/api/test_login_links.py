"""One-time login tokens (api/login_links.py): single use, short-lived, unguessable."""

import pytest

from tracewire.api.login_links import LOGIN_TOKEN_TTL, LoginLinks


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_token_is_redeemed_once_and_never_again() -> None:
    links = LoginLinks("acme")
    token = links.issue()
    assert links.redeem(token)
    assert not links.redeem(token)


def test_a_token_expires_after_its_ttl() -> None:
    clock = _Clock()
    links = LoginLinks("acme", clock=clock)
    fresh, stale = links.issue(), links.issue()
    clock.now += LOGIN_TOKEN_TTL - 1
    assert links.redeem(fresh)
    clock.now += 1
    assert not links.redeem(stale)


def test_an_unknown_token_fails_and_tokens_are_long_random_and_distinct() -> None:
    links = LoginLinks("acme")
    tokens = {links.issue() for _ in range(50)}
    assert len(tokens) == 50
    assert all(len(token) >= 43 for token in tokens)  # 256 bits, urlsafe base64
    assert not links.redeem("not-a-token")


def test_a_login_link_needs_an_organization() -> None:
    with pytest.raises(ValueError):
        LoginLinks("")
