"""`tracewire keys`: create prints the secret once and it authenticates; list never shows
it; revoke stops it working."""

import re

import pytest

from tests._api import serve, unique_slug
from tests.cli.test_cli import fresh_database_url, run_cli

__all__ = ["fresh_database_url"]


async def test_keys_create_list_and_revoke(
    fresh_database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    url = ["--database-url", fresh_database_url]
    org = unique_slug()

    assert run_cli("keys", "create", "--org", org, "--name", "ci", *url) == 0
    created = capsys.readouterr().out
    public = re.search(r"public key: (pk-tw-\S+)", created)
    secret = re.search(r"secret key: (sk-tw-\S+)", created)
    assert public and secret
    assert "cannot be shown again" in created

    assert run_cli("keys", "list", "--org", org, *url) == 0
    listing = capsys.readouterr().out
    assert public[1] in listing and "\tci\t" in listing and "active" in listing
    assert secret[1] not in listing

    async with serve(fresh_database_url) as client:
        headers = {"Authorization": f"Bearer {secret[1]}"}
        ok = await client.post(
            "/graphql", json={"query": "{ runs { totalCount } }"}, headers=headers
        )
        assert ok.status_code == 200

        assert run_cli("keys", "revoke", public[1], *url) == 0
        assert capsys.readouterr().out == f"revoked {public[1]}\n"
        refused = await client.post(
            "/graphql", json={"query": "{ runs { totalCount } }"}, headers=headers
        )
        assert refused.status_code == 401

    assert run_cli("keys", "revoke", public[1], *url) == 1
    assert "no active key" in capsys.readouterr().err
    assert run_cli("keys", "list", "--org", org, *url) == 0
    assert "revoked" in capsys.readouterr().out


def test_keys_create_without_an_org_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli("keys", "create") == 2
    assert "--org" in capsys.readouterr().err
