"""Artifacts in S3 or any S3-compatible service (AWS, MinIO, SeaweedFS...), via aioboto3.

One client per store, made on first use and kept: making one costs ~0.4 s. A client
belongs to the event loop it was made on, so a store is used from one loop only (the
server's, or the recorder uploader's private one).
"""

import asyncio
import contextlib
from collections.abc import AsyncIterable, AsyncIterator
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, Any

import aioboto3
import aiohttp
from aiobotocore.config import AioConfig
from botocore.exceptions import BotoCoreError, ClientError

from tracewire.storage.base import CHUNK_BYTES, Download
from tracewire.storage.config import StoreConfig
from tracewire.storage.errors import ObjectMissing, StorageError, StoreUnavailable
from tracewire.storage.keys import check_key
from tracewire.storage.media import disposition

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client

# S3's smallest part is 5 MiB; 8 MiB parts keep memory per upload at one part.
PART_BYTES = 8 * 1024 * 1024
_MISSING_CODES = frozenset({"NoSuchKey", "404", "NotFound"})
_CLIENT_CONFIG = AioConfig(
    connect_timeout=5,
    read_timeout=60,
    # Callers retry with their own budget (the recorder's uploader); botocore retrying too
    # would multiply the wait of an outage.
    retries={"max_attempts": 2, "mode": "standard"},
    # Checksums on every request are newer than several S3-compatible servers.
    request_checksum_calculation="when_required",
    response_checksum_validation="when_required",
    s3={"addressing_style": "path"},
    # SigV4 everywhere: presigned SigV2 URLs are refused by newer servers (and AWS regions).
    signature_version="s3v4",
)


class S3Store:
    def __init__(self, config: StoreConfig) -> None:
        self.bucket = config.bucket
        self._prefix = f"{config.prefix}/" if config.prefix else ""
        options = config.s3
        self._session = aioboto3.Session(
            aws_access_key_id=options.access_key_id,
            aws_secret_access_key=options.secret_access_key,
            region_name=options.region,
        )
        self._endpoint_url = options.endpoint_url
        self._client: S3Client | None = None
        self._exit_stack = AsyncExitStack()
        self._lock = asyncio.Lock()

    def object_key(self, key: str) -> str:
        return self._prefix + check_key(key)

    async def put(self, key: str, chunks: AsyncIterable[bytes], *, download: Download) -> None:
        name = self.object_key(key)
        client = await self._connect()
        content_type, content_disposition = download.content_type, disposition(download)
        parts = _parts(_source(chunks))
        with _translated(key):
            first = await anext(parts)
            second = await anext(parts, None)
            if second is None:  # small: one request
                await client.put_object(
                    Bucket=self.bucket,
                    Key=name,
                    Body=first,
                    ContentType=content_type,
                    ContentDisposition=content_disposition,
                )
                return
            upload = await client.create_multipart_upload(
                Bucket=self.bucket,
                Key=name,
                ContentType=content_type,
                ContentDisposition=content_disposition,
            )
        upload_id = upload["UploadId"]

        async def every_part() -> AsyncIterator[bytes]:
            yield first
            yield second
            async for part in parts:
                yield part

        try:
            with _translated(key):
                done: list[dict[str, Any]] = []
                async for body in every_part():
                    number = len(done) + 1
                    part = await client.upload_part(
                        Bucket=self.bucket, Key=name, UploadId=upload_id, PartNumber=number,
                        Body=body,
                    )  # fmt: skip
                    done.append({"ETag": part["ETag"], "PartNumber": number})
                await client.complete_multipart_upload(
                    Bucket=self.bucket,
                    Key=name,
                    UploadId=upload_id,
                    MultipartUpload={"Parts": done},  # type: ignore[typeddict-item]
                )
        except BaseException:
            # Parts of an upload that never completes still take space: drop them.
            with contextlib.suppress(Exception):
                await client.abort_multipart_upload(
                    Bucket=self.bucket, Key=name, UploadId=upload_id
                )
            raise

    async def read(
        self, key: str, offset: int = 0, length: int | None = None
    ) -> AsyncIterator[bytes]:
        name = self.object_key(key)
        client = await self._connect()
        args: dict[str, Any] = {}
        if offset or length is not None:
            end = "" if length is None else str(offset + length - 1)
            args["Range"] = f"bytes={offset}-{end}"
        with _translated(key):
            response = await client.get_object(Bucket=self.bucket, Key=name, **args)
        return _body(key, response["Body"])

    async def size(self, key: str) -> int | None:
        name = self.object_key(key)
        client = await self._connect()
        try:
            with _translated(key):
                head = await client.head_object(Bucket=self.bucket, Key=name)
        except ObjectMissing:
            return None
        return head["ContentLength"]

    async def url(self, key: str, *, expires_in: int, download: Download) -> str | None:
        name = self.object_key(key)
        client = await self._connect()
        with _translated(key):
            url: str = await client.generate_presigned_url(
                "get_object",
                Params={
                    "Bucket": self.bucket,
                    "Key": name,
                    "ResponseContentType": download.content_type,
                    "ResponseContentDisposition": disposition(download),
                },
                ExpiresIn=expires_in,
            )
        return url

    async def delete(self, key: str) -> None:
        name = self.object_key(key)
        client = await self._connect()
        with _translated(key):
            await client.delete_object(Bucket=self.bucket, Key=name)

    async def ensure_bucket(self) -> None:
        """Create the bucket if it does not exist (for tests and first runs)."""
        client = await self._connect()
        with _translated(self.bucket):
            try:
                await client.head_bucket(Bucket=self.bucket)
            except ClientError:
                await client.create_bucket(Bucket=self.bucket)

    async def close(self) -> None:
        self._client = None
        await self._exit_stack.aclose()

    async def _connect(self) -> "S3Client":
        async with self._lock:
            client = self._client
            if client is None:
                with _translated("(connecting)"):
                    made = self._session.client(
                        "s3", endpoint_url=self._endpoint_url, config=_CLIENT_CONFIG
                    )
                    client = self._client = await self._exit_stack.enter_async_context(made)
        return client


async def _parts(chunks: AsyncIterable[bytes]) -> AsyncIterator[bytes]:
    """The chunks regrouped into parts of `PART_BYTES`; the last may be smaller, and an
    empty input is one empty part."""
    buffer: list[bytes] = []
    size = 0
    async for chunk in chunks:
        buffer.append(chunk)
        size += len(chunk)
        if size >= PART_BYTES:
            joined = b"".join(buffer)
            start = 0
            while size - start >= PART_BYTES:
                yield joined[start : start + PART_BYTES]
                start += PART_BYTES
            buffer, size = [joined[start:]], size - start
    if size or not buffer:
        yield b"".join(buffer)


class _SourceFailed(Exception):
    """Carries an error of the caller's chunks past `_translated` (as its cause)."""


async def _source(chunks: AsyncIterable[bytes]) -> AsyncIterator[bytes]:
    try:
        async for chunk in chunks:
            yield chunk
    except Exception as exc:
        raise _SourceFailed from exc


async def _body(key: str, body: Any) -> AsyncIterator[bytes]:
    try:
        with _translated(key):
            while chunk := await body.read(CHUNK_BYTES):
                yield chunk
    finally:
        body.close()


@contextlib.contextmanager
def _translated(key: str) -> Any:
    """botocore's and aiohttp's errors as `storage.errors`."""
    try:
        yield
    except _SourceFailed as exc:
        assert exc.__cause__ is not None
        raise exc.__cause__ from None
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        if code in _MISSING_CODES or status == 404:
            raise ObjectMissing(key) from exc
        if status >= 500 or code in ("SlowDown", "RequestTimeout", "ServiceUnavailable"):
            raise StoreUnavailable(f"S3 {code or status} for {key}") from exc
        raise StorageError(f"S3 refused {key}: {code} {error.get('Message', '')}") from exc
    except (BotoCoreError, aiohttp.ClientError, OSError, TimeoutError) as exc:
        raise StoreUnavailable(f"S3 unreachable for {key}: {type(exc).__name__}: {exc}") from exc
