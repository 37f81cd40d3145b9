"""Artifacts over HTTP: uploads from recorders, signed URLs and the streaming download
route."""

from tracewire.api.artifacts import routes as _downloads
from tracewire.api.artifacts import upload as _uploads
from tracewire.api.artifacts.access import ArtifactAccess
from tracewire.api.artifacts.signing import UrlSigner, load_secret

routes = [*_downloads.routes, *_uploads.routes]

__all__ = ["ArtifactAccess", "UrlSigner", "load_secret", "routes"]
