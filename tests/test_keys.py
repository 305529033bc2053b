import stat
import threading
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from typer.testing import CliRunner

from app.keys import KeyNotConfigured, load_or_create_private_key
from tests.conftest import new_s3_bucket, node_keys, use_s3

AUDIT = "SKILLTRACE_AUDIT_SIGNING_KEY_PEM"


def _raw(key: object) -> bytes:
    assert isinstance(key, Ed25519PrivateKey)
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def test_concurrent_first_use_agrees_on_one_key(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "k.pem"
    found: list[bytes] = []

    def load() -> None:
        found.append(_raw(load_or_create_private_key("", path, Ed25519PrivateKey.generate)))

    threads = [threading.Thread(target=load) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(found) == 8 and len(set(found)) == 1
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["k.pem"]  # no temporary files left


def test_a_key_given_in_settings_wins(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    loaded = load_or_create_private_key(pem, tmp_path / "unused.pem", Ed25519PrivateKey.generate)
    assert _raw(loaded) == _raw(key)
    assert not (tmp_path / "unused.pem").exists()


def test_a_key_that_may_not_be_created_names_its_setting(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "k.pem"
    with pytest.raises(KeyNotConfigured, match="^SKILLTRACE_X_PEM is not set"):
        load_or_create_private_key("", path, Ed25519PrivateKey.generate, setting="SKILLTRACE_X_PEM")
    assert not path.parent.exists()


# ------------------------------------------------ app nodes that share no data dir (S3 storage)


def _on_a_bucket(monkeypatch: pytest.MonkeyPatch, endpoint: str, *, keys: bool) -> None:
    """Settings of a node whose files are in a bucket, its keys configured or not."""
    from app.config import get_settings

    use_s3(monkeypatch, endpoint, new_s3_bucket(endpoint))
    if not keys:
        for name in node_keys():
            monkeypatch.delenv(name)
    get_settings.cache_clear()


def test_a_node_on_a_bucket_never_generates_a_key(
    app_env: str, s3_endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Nodes on a bucket share no data dir: a key generated into one node's would not be the
    next node's, and what one signed would not verify against the other's published key. So
    no key is generated; the error names the setting that gives it."""
    from app.audit import signing
    from app.certificates import credential

    _on_a_bucket(monkeypatch, s3_endpoint, keys=False)
    with pytest.raises(KeyNotConfigured, match="^SKILLTRACE_AUDIT_SIGNING_KEY_PEM is not set"):
        signing.signing_key()
    with pytest.raises(KeyNotConfigured, match="^SKILLTRACE_CREDENTIAL_SIGNING_KEY_PEM is not set"):
        credential.signing_key()
    assert not (tmp_path / "data" / "keys").exists()


def test_nodes_on_a_bucket_sign_with_the_configured_keys(
    app_env: str, s3_endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Two nodes, two data dirs, one configuration: the same keys published, none on disk."""
    from app.audit import signing
    from app.certificates import credential
    from app.config import get_settings

    _on_a_bucket(monkeypatch, s3_endpoint, keys=True)
    published = []
    for node in ("a", "b"):
        monkeypatch.setenv("SKILLTRACE_DATA_DIR", str(tmp_path / node))
        get_settings.cache_clear()
        published.append((signing.jwks(), credential.jwks()))
        assert not (tmp_path / node / "keys").exists()
    assert published[0] == published[1]


def test_a_one_node_install_moved_to_a_bucket_keeps_its_key(
    app_env: str, s3_endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The node that already has a key file (local storage before) goes on signing with it;
    only a node without one needs the setting."""
    from app.audit import signing
    from app.config import get_settings

    before = signing.jwks()  # local storage: generated into data_dir/keys
    _on_a_bucket(monkeypatch, s3_endpoint, keys=False)
    assert signing.jwks() == before
    monkeypatch.setenv("SKILLTRACE_DATA_DIR", str(tmp_path / "second-node"))
    get_settings.cache_clear()
    with pytest.raises(KeyNotConfigured):
        signing.jwks()


def test_serve_refuses_a_node_on_a_bucket_without_keys(
    app_env: str, s3_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``skilltrace serve`` says so in one line before any worker starts."""
    from app.cli import app

    _on_a_bucket(monkeypatch, s3_endpoint, keys=False)
    result = CliRunner().invoke(app, ["serve", "--port", "1"])
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: cannot start: SKILLTRACE_AUDIT_SIGNING_KEY_PEM is not set")


def test_the_app_does_not_start_on_a_bucket_without_keys(
    app_env: str,
    s3_endpoint: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Under any launcher (gunicorn, uvicorn directly) the lifespan loads both keys first: the
    credential key too, which a request would otherwise find missing only when it signs."""
    from fastapi.testclient import TestClient

    from app.main import create_app

    _on_a_bucket(monkeypatch, s3_endpoint, keys=False)
    monkeypatch.setenv("SKILLTRACE_AUDIT_SIGNING_KEY_PEM", node_keys()[AUDIT])
    with pytest.raises(KeyNotConfigured), TestClient(create_app()):
        pass
    assert any(
        r.getMessage().startswith("cannot start: SKILLTRACE_CREDENTIAL_SIGNING_KEY_PEM is not set")
        for r in caplog.records
    )
