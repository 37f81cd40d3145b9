"""The keys a server takes from clients: `with_org` puts the caller's organization first
whatever the client named, and `artifact_name` accepts only keys `artifact_key` makes."""

import uuid

import pytest

from tracewire.storage import InvalidKey, artifact_key, artifact_name, with_org

RUN, STEP, ARTIFACT = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()


def test_with_org_replaces_the_first_segment_and_keeps_the_rest() -> None:
    key = artifact_key("someone-else", RUN, STEP, ARTIFACT, "report.pdf")

    owned = with_org(key, "acme")

    assert owned == artifact_key("acme", RUN, STEP, ARTIFACT, "report.pdf")


def test_with_org_cleans_the_slug_as_artifact_key_does() -> None:
    slug = "Acme Corp/../x"
    key = artifact_key("x", RUN, None, ARTIFACT, "a.txt")

    assert with_org(key, slug) == artifact_key(slug, RUN, None, ARTIFACT, "a.txt")


@pytest.mark.parametrize(
    "key", ["", "lonely", "org/", "/abs/key", "org/../escape", "org//x", "org/a\\b", "org/\x00"]
)
def test_with_org_refuses_a_key_without_an_org_and_a_rest(key: str) -> None:
    with pytest.raises(InvalidKey):
        with_org(key, "acme")


def test_with_org_refuses_a_key_the_slug_would_make_too_long() -> None:
    key = "o/" + "x" * 1020

    with pytest.raises(InvalidKey, match="1-1024"):
        with_org(key, "a-much-longer-organization")


@pytest.mark.parametrize("step", [STEP, None])
def test_artifact_name_is_the_name_an_artifact_key_was_made_with(step: uuid.UUID | None) -> None:
    key = artifact_key("acme", RUN, step, ARTIFACT, "chart v2.png")

    assert artifact_name(key) == "chart_v2.png"


@pytest.mark.parametrize(
    "key",
    [
        "acme/report.pdf",
        f"acme/{RUN.hex}/{STEP.hex}/report.pdf",
        f"acme/{RUN.hex}/steps/{ARTIFACT.hex}-report.pdf",
        f"acme/{RUN.hex[:8]}/run/{ARTIFACT.hex}-report.pdf",
        f"acme/{RUN.hex}/run/{ARTIFACT.hex}-",
        f"acme/{RUN.hex}/run/{ARTIFACT.hex}-a b.pdf",
        f"acme/more/{RUN.hex}/run/{ARTIFACT.hex}-report.pdf",
    ],
)
def test_artifact_name_refuses_keys_shaped_otherwise(key: str) -> None:
    with pytest.raises(InvalidKey, match="not an artifact key"):
        artifact_name(key)
