"""Artifact downloads: signed URLs and the server's streaming route."""

from tracewire.api.artifacts.access import ArtifactAccess
from tracewire.api.artifacts.routes import routes
from tracewire.api.artifacts.signing import UrlSigner, load_secret

__all__ = ["ArtifactAccess", "UrlSigner", "load_secret", "routes"]
