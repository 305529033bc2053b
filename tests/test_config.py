import pytest
from pydantic import ValidationError

from app.config import DEFAULT_SECRET_KEY, Environment, Settings


def test_default_secret_allowed_only_in_development() -> None:
    assert Settings(env=Environment.development, secret_key=DEFAULT_SECRET_KEY)
    for env in (Environment.production, Environment.test):
        with pytest.raises(ValidationError, match="SECRET_KEY"):
            Settings(env=env, secret_key=DEFAULT_SECRET_KEY)
    with pytest.raises(ValidationError):
        Settings(env=Environment.production, secret_key="too-short")
    assert Settings(env=Environment.production, secret_key="k" * 40)


def test_database_url_defaults_to_sqlite_in_data_dir(tmp_path) -> None:  # type: ignore[no-untyped-def]
    s = Settings(data_dir=tmp_path, database_url="")
    assert s.resolved_database_url == f"sqlite:///{tmp_path.resolve()}/skilltrace.db"
    assert Settings(database_url="postgresql://x/y").resolved_database_url == "postgresql://x/y"


def test_env_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SKILLTRACE_PORT", "9123")
    monkeypatch.setenv("SKILLTRACE_ACCESS_TOKEN_MINUTES", "5")
    s = Settings()
    assert (s.port, s.access_token_minutes) == (9123, 5)


def test_face_thresholds_per_engine() -> None:
    """dlib's are distances (accept below reject), SFace's cosine similarities (accept above)."""
    s = Settings(face_engine="sface")
    assert s.face_thresholds() == (0.50, 0.40)
    assert s.face_thresholds("dlib") == (0.38, 0.50)
    assert Settings(face_engine="dlib").face_thresholds() == (0.38, 0.50)
    with pytest.raises(ValueError, match="cosine"):
        Settings(face_sface_accept_threshold=0.3, face_sface_reject_threshold=0.4)
