import stat
import threading
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from app.keys import load_or_create_private_key


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
