"""Artifact downloads: signed URLs and the server's streaming route."""

from api.artifacts.access import ArtifactAccess
from api.artifacts.routes import routes
from api.artifacts.signing import UrlSigner, load_secret

__all__ = ["ArtifactAccess", "UrlSigner", "load_secret", "routes"]
