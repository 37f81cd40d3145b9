"""What the server needs to take, hand out and serve artifacts: the store, the signer for
URLs of the server's own download route, and the cap on an upload."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from tracewire.api.artifacts.signing import UrlSigner, load_secret
from tracewire.api.settings import ServerSettings
from tracewire.db.models import Artifact
from tracewire.storage import Download, ObjectStore, StorageError, open_store
from tracewire.storage.media import download_of

logger = logging.getLogger(__name__)

CONTENT_PATH = "/artifacts/{artifact_id}/content"


def download_for(row: Artifact) -> Download:
    return download_of(row.name or row.storage_key.rsplit("/", 1)[-1], row.mime_type)


@dataclass(frozen=True, slots=True)
class ArtifactAccess:
    store: ObjectStore
    signer: UrlSigner
    max_upload_bytes: int

    async def download_url(self, row: Artifact) -> str:
        """A presigned URL straight to the store when it has them (S3), else a signed URL
        of the server's route (server-relative). Both expire after the signer's TTL."""
        try:
            url = await self.store.url(
                row.storage_key, expires_in=self.signer.ttl, download=download_for(row)
            )
        except StorageError:
            logger.warning("cannot presign artifact %s; using the server route", row.id)
            url = None
        if url is not None:
            return url
        expires = self.signer.expiry()
        signature = self.signer.sign(row.id, row.org_id, expires)
        path = CONTENT_PATH.format(artifact_id=row.id)
        return f"{path}?expires={expires}&sig={signature}"


@asynccontextmanager
async def opened_artifacts(settings: ServerSettings) -> AsyncIterator[ArtifactAccess]:
    """The store (an S3 bucket is created if missing, when the credentials allow) and the
    signer, for the server's lifetime."""
    config = settings.artifact_store_config
    store = open_store(config)
    if config.is_s3:
        from tracewire.storage.s3 import S3Store  # aioboto3 loads only for an S3 store

        assert isinstance(store, S3Store)
        try:
            await store.ensure_bucket()
        except StorageError as exc:
            logger.warning("artifact bucket %s not checked: %s", config.bucket, exc)
    secret = load_secret(settings.artifact_signing_secret, settings.data_dir)
    try:
        signer = UrlSigner(secret, settings.artifact_url_ttl)
        yield ArtifactAccess(store, signer, settings.artifact_max_upload_bytes)
    finally:
        await store.close()
