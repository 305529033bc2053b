"""The file-store contract (app/storage.py), the same on the local filesystem and on an
S3-compatible store (moto's server as the stand-in): what is put is read back byte for byte with
its sha256, ranges are exact, deletion is idempotent, a missing object is ObjectMissing, and a
misconfigured store is one line an operator can act on."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.storage import LocalMediaStore, MediaStore, ObjectMissing, StorageUnavailable
from app.storage_s3 import S3MediaStore
from tests.conftest import S3_KEYS, new_s3_bucket, use_s3


def s3_store(endpoint: str, bucket: str, prefix: str = "") -> S3MediaStore:
    return S3MediaStore(
        bucket=bucket,
        prefix=prefix,
        endpoint_url=endpoint,
        region="us-east-1",
        access_key_id=S3_KEYS["aws_access_key_id"],
        secret_access_key=S3_KEYS["aws_secret_access_key"],
    )


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MediaStore]:
    if request.param == "local":
        yield LocalMediaStore(tmp_path / "media")
    else:
        endpoint = request.getfixturevalue("s3_endpoint")
        yield s3_store(endpoint, new_s3_bucket(endpoint), prefix="p/")


def test_put_read_stat_ranges_delete(store: MediaStore, tmp_path: Path) -> None:
    data = os.urandom(700_000)
    src = tmp_path / "src.webm"
    src.write_bytes(data)
    key = "lessons/abc/0123.webm"
    assert store.stat(key) is None
    assert store.put(key, src) == hashlib.sha256(data).hexdigest()
    assert store.read(key) == data
    info = store.stat(key)
    assert info is not None and info.size == len(data) and info.etag.startswith('"')
    for first, last in ((0, 0), (0, 99), (1000, 400_000), (len(data) - 64, len(data) - 1)):
        assert b"".join(store.open_range(key, first, last)) == data[first : last + 1]

    small = b"\xff\xd8\xff" + b"jpeg" * 10
    assert store.put_bytes("evidence/2026/12/e.jpg", small) == hashlib.sha256(small).hexdigest()
    assert store.read("evidence/2026/12/e.jpg") == small

    replaced = os.urandom(1000)  # a key written again holds the new bytes
    store.put_bytes(key, replaced)
    assert store.read(key) == replaced and store.stat(key).size == 1000  # type: ignore[union-attr]

    store.delete(key)
    store.delete(key)  # nothing there: no error
    assert store.stat(key) is None
    with pytest.raises(ObjectMissing):
        store.read(key)
    with pytest.raises(ObjectMissing):
        store.open_range(key, 0, 10)
    assert store.read("evidence/2026/12/e.jpg") == small  # other objects untouched


def test_keys_that_could_escape_are_refused(store: MediaStore) -> None:
    for bad in ("../x", "lessons/../../etc/passwd", "/abs", "A/B", "lessons//x", ""):
        with pytest.raises(ValueError, match="not a media key"):
            store.put_bytes(bad, b"x")
        with pytest.raises(ValueError, match="not a media key"):
            store.read(bad)


def test_check_passes_on_a_usable_store(store: MediaStore) -> None:
    store.check()


def test_s3_prefix_keeps_deployments_apart(s3_endpoint: str) -> None:
    bucket = new_s3_bucket(s3_endpoint)
    a, b = s3_store(s3_endpoint, bucket, "a/"), s3_store(s3_endpoint, bucket, "b/")
    a.put_bytes("evidence/x.jpg", b"from a")
    assert b.stat("evidence/x.jpg") is None
    assert list(a.keys()) == ["evidence/x.jpg"] and list(b.keys()) == []
    import boto3

    raw = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1", **S3_KEYS)
    head = raw.head_object(Bucket=bucket, Key="a/evidence/x.jpg")
    # The object carries its sha256 and its media type.
    assert head["Metadata"]["sha256"] == hashlib.sha256(b"from a").hexdigest()
    assert head["ContentType"] == "image/jpeg"


def test_s3_large_files_go_in_parts(s3_endpoint: str, tmp_path: Path) -> None:
    """Above the threshold the SDK's multipart upload stores the file; read back the same."""
    from boto3.s3.transfer import TransferConfig

    store = s3_store(s3_endpoint, new_s3_bucket(s3_endpoint))
    store._transfer = TransferConfig(
        multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024
    )
    data = os.urandom(11 * 1024 * 1024)
    src = tmp_path / "big.mp4"
    src.write_bytes(data)
    assert store.put("lessons/big/v.mp4", src) == hashlib.sha256(data).hexdigest()
    assert store.stat("lessons/big/v.mp4").size == len(data)  # type: ignore[union-attr]
    tail = b"".join(store.open_range("lessons/big/v.mp4", len(data) - 10, len(data) - 1))
    assert tail == data[-10:]


def test_s3_misconfiguration_is_one_line(s3_endpoint: str) -> None:
    with pytest.raises(StorageUnavailable) as missing:
        s3_store(s3_endpoint, "no-such-bucket-here").check()
    assert "s3://no-such-bucket-here/" in missing.value.detail
    assert len(missing.value.detail.splitlines()) == 1
    unreachable = S3MediaStore(
        bucket="b-1", endpoint_url="http://127.0.0.1:9", access_key_id="k", secret_access_key="s"
    )
    with pytest.raises(StorageUnavailable, match=r"127\.0\.0\.1:9"):
        unreachable.check()
    with pytest.raises(StorageUnavailable):
        unreachable.put_bytes("evidence/x.jpg", b"x")


def test_s3_settings_are_validated() -> None:
    from pydantic import ValidationError

    from app.config import Settings

    assert Settings(storage="s3", s3_bucket="skilltrace-media").s3_bucket == "skilltrace-media"
    for kwargs, says in (
        ({}, "needs SKILLTRACE_S3_BUCKET"),
        ({"s3_bucket": "Bad_Bucket"}, "SKILLTRACE_S3_BUCKET: 'Bad_Bucket' is not a bucket"),
        ({"s3_bucket": "ok-bucket", "s3_endpoint_url": "minio:9000"}, "ENDPOINT_URL"),
        ({"s3_bucket": "ok-bucket", "s3_access_key_id": "AKIA"}, "set both"),
        ({"s3_bucket": "ok-bucket", "s3_prefix": "no-slash"}, "SKILLTRACE_S3_PREFIX"),
    ):
        with pytest.raises(ValidationError, match=says):
            Settings(storage="s3", **kwargs)


def test_serve_refuses_an_unusable_bucket_in_one_line(
    app_env: str, s3_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``skilltrace serve`` checks the store before starting any worker."""
    from app.cli import app
    from app.config import get_settings

    use_s3(monkeypatch, s3_endpoint, "skilltrace-missing")
    try:
        result = CliRunner().invoke(app, ["serve", "--port", "1"])
        assert result.exit_code == 1
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert lines[0].startswith("error: storage_unavailable: cannot use bucket ")
        assert "s3://skilltrace-missing/" in lines[0]
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()


def test_range_headers_are_read_as_starlette_reads_them() -> None:
    """The S3 path's Range parsing (app/http/media.py): one range, open and suffix ranges
    clipped to the object; several ranges: the whole object; 400 and 416 as FileResponse."""
    from app.http.media import MalformedRange, Unsatisfiable, parse_range

    assert parse_range("bytes=0-99", 1000) == (0, 99)
    assert parse_range("bytes=990-2000", 1000) == (990, 999)
    assert parse_range("bytes=500-", 1000) == (500, 999)
    assert parse_range("bytes=-64", 1000) == (936, 999)
    assert parse_range("bytes=-5000", 1000) == (0, 999)
    assert parse_range("bytes=0-1, 5-6", 1000) is None
    for bad in ("pages=1-2", "bytes=", "bytes=-", "bytes=a-b", "bytes=500-100"):
        with pytest.raises(MalformedRange):
            parse_range(bad, 1000)
    for past in ("bytes=1000-", "bytes=5000-6000", "bytes=-0"):
        with pytest.raises(Unsatisfiable):
            parse_range(past, 1000)


def test_the_app_does_not_start_on_an_unusable_bucket(
    app_env: str,
    s3_endpoint: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Under any launcher (gunicorn, uvicorn directly) the lifespan checks the store: no node
    serves requests it cannot answer; the log says why in one line."""
    from fastapi.testclient import TestClient

    from app.config import get_settings
    from app.main import create_app

    use_s3(monkeypatch, s3_endpoint, "skilltrace-missing")
    try:
        with pytest.raises(StorageUnavailable), TestClient(create_app()):
            pass
        assert any(
            r.getMessage().startswith("cannot start: storage_unavailable: cannot use bucket")
            for r in caplog.records
        )
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()


def test_s3_requests_are_counted_by_operation_and_outcome(s3_endpoint: str) -> None:
    """``/metrics`` shows the store's requests: a put, a missing read and an unreachable store
    each land in their series of skilltrace_storage_operation_duration_seconds."""
    from prometheus_client import REGISTRY

    def count(op: str, outcome: str) -> float:
        value = REGISTRY.get_sample_value(
            "skilltrace_storage_operation_duration_seconds_count", {"op": op, "outcome": outcome}
        )
        return value or 0.0

    before = {k: count(*k) for k in (("put", "ok"), ("read", "missing"), ("check", "error"))}
    store = s3_store(s3_endpoint, new_s3_bucket(s3_endpoint))
    store.put_bytes("evidence/m.jpg", b"x")
    with pytest.raises(ObjectMissing):
        store.read("evidence/none.jpg")
    with pytest.raises(StorageUnavailable):
        S3MediaStore(bucket="b-1", endpoint_url="http://127.0.0.1:9").check()
    assert {k: count(*k) - v for k, v in before.items()} == {
        ("put", "ok"): 1,
        ("read", "missing"): 1,
        ("check", "error"): 1,
    }
