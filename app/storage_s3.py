"""The S3-compatible object store (``SKILLTRACE_STORAGE=s3``): one bucket, an optional key
prefix, every app node reading and writing the same objects.

* Writes: small objects in one ``PutObject`` carrying their SHA-256 (``ChecksumSHA256``: the
  store refuses bytes that arrive damaged); files by the SDK's managed transfer (multipart above
  64 MiB, each part checksummed). Every object records its sha256 in the metadata
  ``x-amz-meta-sha256``.
* Reads: whole objects (``GetObject``) for evidence crops and scans, checked by the caller
  against the hash the database and the audit hold; byte ranges (``GetObject`` with ``Range``)
  for video serving, streamed through the app so access control stays in the app.
* The size and validator of an object (``HeadObject``) are remembered for a few seconds per
  process: keys are content-addressed and never rewritten, and a deleted object is noticed at
  the next ``GetObject`` anyway.

Errors: a missing object is :class:`~app.storage.ObjectMissing`; anything else (unreachable,
refused credentials, no bucket) is :class:`~app.storage.StorageUnavailable` with one line that
names the bucket and the store's answer.
"""

from __future__ import annotations

import base64
import hashlib
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NoReturn, cast

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from app.metrics import STORAGE_SECONDS
from app.storage import (
    CHUNK,
    ObjectInfo,
    ObjectMissing,
    StorageUnavailable,
    check_key,
    content_type,
    sha256_of,
)

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

#: How long a HeadObject answer is reused (keys are immutable; see the module's docstring).
STAT_TTL_S = 30.0
STAT_CACHE_SIZE = 4096
_MISSING = {"404", "NoSuchKey", "NotFound"}


@contextmanager
def _timed(op: str) -> Iterator[None]:
    """Time one request to the store into ``skilltrace_storage_operation_duration_seconds``."""
    outcome = "ok"
    started = time.perf_counter()
    try:
        yield
    except ObjectMissing:
        outcome = "missing"
        raise
    except BaseException:
        outcome = "error"
        raise
    finally:
        STORAGE_SECONDS.labels(op, outcome).observe(time.perf_counter() - started)


class S3MediaStore:
    def __init__(
        self,
        *,
        bucket: str,
        prefix: str = "",
        endpoint_url: str = "",
        region: str = "",
        access_key_id: str = "",
        secret_access_key: str = "",
        addressing_style: str = "auto",
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix
        self.endpoint = endpoint_url or "AWS S3"
        if addressing_style == "auto" and endpoint_url:
            # S3-compatible stores (MinIO, Ceph, a stand-in) all serve path-style requests;
            # virtual hosts need a DNS name per bucket.
            addressing_style = "path"
        config = Config(
            s3={"addressing_style": cast(Literal["auto", "path", "virtual"], addressing_style)},
            retries={"max_attempts": 3, "mode": "standard"},
            connect_timeout=5,
            read_timeout=30,
            # Video ranges are streamed by many request threads at once.
            max_pool_connections=64,
        )
        session = boto3.session.Session()
        self._client: S3Client = session.client(
            "s3",
            endpoint_url=endpoint_url or None,
            region_name=region or None,
            aws_access_key_id=access_key_id or None,
            aws_secret_access_key=secret_access_key or None,
            config=config,
        )
        self._transfer = TransferConfig(
            multipart_threshold=64 * 1024 * 1024,
            multipart_chunksize=16 * 1024 * 1024,
            max_concurrency=4,
        )
        self._stats: dict[str, tuple[float, ObjectInfo]] = {}
        self._lock = threading.Lock()

    def _name(self, key: str) -> str:
        return self.prefix + check_key(key)

    def _fail(self, what: str, key: str | None, exc: Exception) -> NoReturn:
        if isinstance(exc, ClientError):
            err = exc.response.get("Error", {})
            code = str(err.get("Code", ""))
            if key is not None and code in _MISSING:
                raise ObjectMissing(key) from None
            answer = f"{code}: {err.get('Message', '')}".strip(": ")
        else:
            answer = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        where = f"s3://{self.bucket}/{self.prefix}{key or ''} at {self.endpoint}"
        raise StorageUnavailable(f"{what} {where}: {answer}") from None

    def _forget(self, key: str) -> None:
        with self._lock:
            self._stats.pop(key, None)

    def put(self, key: str, source: Path) -> str:
        name = self._name(key)
        digest = sha256_of(source)
        self._forget(key)
        if source.stat().st_size < self._transfer.multipart_threshold:
            self._put_object(name, source.read_bytes(), digest, key)
            return digest
        with _timed("put"):
            try:
                self._client.upload_file(
                    str(source),
                    self.bucket,
                    name,
                    ExtraArgs={
                        "ContentType": content_type(key),
                        "Metadata": {"sha256": digest},
                        "ChecksumAlgorithm": "SHA256",
                    },
                    Config=self._transfer,
                )
            except (BotoCoreError, ClientError) as exc:
                self._fail("storing", key, exc)
        return digest

    def put_bytes(self, key: str, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        self._forget(key)
        self._put_object(self._name(key), data, digest, key)
        return digest

    def _put_object(self, name: str, data: bytes, digest: str, key: str) -> None:
        with _timed("put"):
            try:
                self._client.put_object(
                    Bucket=self.bucket,
                    Key=name,
                    Body=data,
                    ContentType=content_type(key),
                    Metadata={"sha256": digest},
                    ChecksumSHA256=base64.b64encode(bytes.fromhex(digest)).decode(),
                )
            except (BotoCoreError, ClientError) as exc:
                self._fail("storing", key, exc)

    def read(self, key: str) -> bytes:
        with _timed("read"):
            try:
                got = self._client.get_object(Bucket=self.bucket, Key=self._name(key))
                with got["Body"] as body:
                    return body.read()
            except (BotoCoreError, ClientError) as exc:
                self._fail("reading", key, exc)

    def stat(self, key: str) -> ObjectInfo | None:
        now = time.monotonic()
        with self._lock:
            hit = self._stats.get(key)
        if hit is not None and now - hit[0] < STAT_TTL_S:
            return hit[1]
        try:
            with _timed("stat"):
                try:
                    head = self._client.head_object(Bucket=self.bucket, Key=self._name(key))
                except (BotoCoreError, ClientError) as exc:
                    self._fail("reading", key, exc)
        except ObjectMissing:
            self._forget(key)
            return None
        modified = (head.get("LastModified") or datetime.now(UTC)).astimezone(UTC)
        info = ObjectInfo(
            size=int(head["ContentLength"]), etag=str(head["ETag"]), modified=modified
        )
        with self._lock:
            if len(self._stats) >= STAT_CACHE_SIZE:
                self._stats.clear()
            self._stats[key] = (now, info)
        return info

    def open_range(self, key: str, start: int, end: int) -> Iterator[bytes]:
        with _timed("range"):  # to the first byte; the body streams afterwards
            try:
                got: Any = self._client.get_object(
                    Bucket=self.bucket, Key=self._name(key), Range=f"bytes={start}-{end}"
                )
            except (BotoCoreError, ClientError) as exc:
                self._forget(key)
                self._fail("reading", key, exc)
        body = got["Body"]

        def chunks() -> Iterator[bytes]:
            try:
                yield from body.iter_chunks(CHUNK)
            finally:
                body.close()

        return chunks()

    def delete(self, key: str) -> None:
        self._forget(key)
        with _timed("delete"):
            try:
                self._client.delete_object(Bucket=self.bucket, Key=self._name(key))
            except (BotoCoreError, ClientError) as exc:
                self._fail("deleting", key, exc)

    def check(self) -> None:
        with _timed("check"):
            try:
                self._client.head_bucket(Bucket=self.bucket)
            except (BotoCoreError, ClientError) as exc:
                self._fail("cannot use bucket", None, exc)

    def keys(self, under: str = "") -> Iterator[str]:
        """Every key stored (under a key prefix), for operators' tools."""
        paginator = self._client.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix + under):
                for obj in page.get("Contents", []):
                    yield obj["Key"][len(self.prefix) :]
        except (BotoCoreError, ClientError) as exc:
            self._fail("listing", None, exc)
