"""Settings, read from the environment with the prefix ``SKILLTRACE_``."""

from __future__ import annotations

import ipaddress
import re
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SECRET_KEY = "dev-insecure-secret-key-change-me"  # noqa: S105 - refused outside development


_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_ENDPOINT = re.compile(r"^https?://[A-Za-z0-9.\-\[\]:]+(:[0-9]{1,5})?/?$")
_PREFIX = re.compile(r"^([a-z0-9][a-z0-9._-]{0,99}/){1,8}$")


class Environment(StrEnum):
    development = "development"
    production = "production"
    test = "test"


class Settings(BaseSettings):
    """Every knob of the service. Defaults give a working development install on SQLite."""

    model_config = SettingsConfigDict(env_prefix="SKILLTRACE_", env_file=None, extra="ignore")

    env: Environment = Environment.development
    data_dir: Path = Path("var")
    database_url: str = ""  # empty: SQLite file in data_dir
    secret_key: str = DEFAULT_SECRET_KEY
    host: str = "127.0.0.1"
    port: int = 8000
    public_base_url: str = ""  # e.g. https://skilltrace.example.cn; empty: http://host:port

    # Auth
    access_token_minutes: int = Field(default=60, ge=1, le=24 * 60)
    # The hot path (heartbeats) remembers a checked token and its user this long, per process
    # (app/accounts/tokencache.py); several heartbeat intervals, or many heartbeats miss: at 60 s
    # and the usual 30 s interval every second or third one read the user again (+64 % Python
    # calls, a thread hop, a transaction). A sign-out or lock reaches this process on commit and
    # other processes by PostgreSQL NOTIFY at once, and a lock ends the study session (which the
    # heartbeat reads under its row lock); this is the bound only if notifications cannot flow.
    # 0: every request reads the user.
    token_cache_ttl_s: int = Field(default=300, ge=0, le=300)
    login_max_failures: int = Field(default=5, ge=1)
    login_backoff_base_s: int = Field(default=30, ge=1)
    login_backoff_max_s: int = Field(default=3600, ge=1)
    # Per client address (an IPv6 client's /64), counted in the database so every app node
    # shares the counts; a fixed window starts at the first counted attempt. Exceeded: 429
    # `rate_limited` with Retry-After until the window ends. Password spraying (many usernames,
    # one password) meets the login limit; the per-username back-off above meets guessing.
    # Sized for a classroom behind one NAT address.
    login_ip_max_failures: int = Field(default=20, ge=1)  # failed logins per window
    login_ip_window_s: int = Field(default=900, ge=1)
    register_ip_max: int = Field(default=60, ge=1)  # self-registrations tried per window
    register_ip_window_s: int = Field(default=3600, ge=1)
    #: Objections to public notices (公示异议) received from one client address per window: the
    #: channel is open to anyone, so one address cannot flood the regulator's queue.
    objection_ip_max: int = Field(default=10, ge=1)
    objection_ip_window_s: int = Field(default=3600, ge=1)
    handoff_ip_max_failures: int = Field(default=20, ge=1)  # unknown hand-off codes per window
    handoff_ip_window_s: int = Field(default=900, ge=1)
    # Self-service password reset (app/accounts/recovery.py): codes asked for and codes tried
    # per client address in a window, codes sent per account in a sliding hour, how long a code
    # lives and how many wrong tries kill it.
    password_reset_ip_max: int = Field(default=20, ge=1)
    password_reset_ip_window_s: int = Field(default=3600, ge=1)
    password_reset_account_max_per_hour: int = Field(default=3, ge=1)
    password_reset_code_ttl_s: int = Field(default=600, ge=60, le=3600)
    #: A code asked for again this soon after a live one (a double click, a reload) sends nothing.
    password_reset_resend_after_s: int = Field(default=60, ge=0, le=600)
    password_reset_max_failures: int = Field(default=5, ge=1, le=10)
    # Who delivers reset codes (app/accounts/notify.py): "console" writes them to the log (the
    # embedded default, for development and for operators who relay them by hand), or
    # "package.module:factory" naming a callable that returns a sender (an SMS gateway, SMTP).
    notify_sender: str = "console"
    # Who delivers e-mail (codes to an e-mail address, app/accounts/notify.py): "console" (the
    # embedded default, the log), "smtp" (the relay below, through the standard library's
    # smtplib), or "package.module:factory". SMS keeps ``notify_sender``.
    email_sender: str = "console"
    smtp_host: str = ""
    smtp_port: int = Field(default=587, ge=1, le=65535)
    #: "starttls" (port 587), "ssl" (implicit TLS, port 465) or "none" (a relay on the host).
    smtp_security: Literal["starttls", "ssl", "none"] = "starttls"
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_from: str = ""  # e.g. 技能培训学习平台 <noreply@px.example.gov.cn>
    smtp_timeout_s: float = Field(default=10.0, gt=0, le=120)

    # Audit
    audit_signing_key_pem: str = ""  # Ed25519 private key; empty: generated into data_dir/keys
    # RSA private key (>= 2048 bits) signing certificate credentials (RS256, the Open Badges 3.0
    # interoperability minimum); empty: a 3072-bit key is generated into data_dir/keys.
    credential_signing_key_pem: str = ""

    # Face verification. Thresholds come from benchmarks/calibrate.py (see the face issue note):
    # distance <= accept passes, > reject fails, in between goes to staff review. 0.38 is where
    # single-frame FMR <= 1e-4 on the East-Asian webcam set (the library's 0.6 matched 67 % of
    # different-person pairs there); fusing 3-5 enrolment templates with a burst of frames
    # ("mean of the 3 best distances") brings the genuine rejection rate at 0.38 to 0-0.5 %.
    face_accept_threshold: float = Field(default=0.38, gt=0, lt=2)
    face_reject_threshold: float = Field(default=0.50, gt=0, lt=2)
    # The face engine: "sface" (YuNet + SFace, vendored in app/attendance/model_files, the
    # default) or "dlib" (HOG + dlib ResNet). Templates record their model; a learner whose
    # template comes from another model re-enrols at the next face check. The two thresholds
    # above are dlib's (Euclidean distance); SFace's are cosine similarities (larger = closer):
    # similarity >= accept passes, < reject fails, in between goes to staff review. Calibrated
    # with `skilltrace face calibrate` on ../shared/faces (README, "Face engines"): at 0.50 no
    # East-Asian webcam impostor pair of 11,060 matches (pooled East-Asian FMR 7.6e-6, 1 of
    # 131,541), at 0.40 single-frame FMR ~1e-3; fused decisions: 0 of 2,400 impostor attempts
    # passed, 0.25 % to review, every genuine attempt passed.
    face_engine: Literal["sface", "dlib"] = "sface"
    face_sface_accept_threshold: float = Field(default=0.50, gt=-1, lt=1)
    face_sface_reject_threshold: float = Field(default=0.40, gt=-1, lt=1)
    # Presentation-attack signal (MiniFASNet, app/attendance/pad.py): a check that would pass
    # goes to staff review when the burst's median "live" probability is below this; 0 turns
    # the signal off. README "Presentation attacks": APCER 0.5 % / BPCER 4 % per burst at 0.05 on
    # antispoof's tight crops (full camera frames of live people score >= 0.97).
    face_pad_review_below: float = Field(default=0.05, ge=0, lt=1)
    face_workers: int = Field(default=2, ge=0, le=64)  # 0: analyse in the calling thread (tests)
    # Analyse each streamed frame in the pool as soon as its upload commits, so a check's
    # answer comes ~1 s after its last frame instead of 5-13 s (app/attendance/prefetch.py).
    face_prefetch: bool = True
    face_max_frame_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    face_max_frame_pixels: int = Field(default=16_000_000, ge=10_000)
    # Image bombs: what the frames' headers declare, summed, before any frame is decoded
    # (app/attendance/budget.py). 20 browser frames (640 px) are ~6 MP, 20 full-HD ones ~41 MP.
    face_max_burst_pixels: int = Field(default=48_000_000, ge=10_000)
    face_max_pixels_per_learner_minute: int = Field(default=160_000_000, ge=10_000)
    # A burst of 2 s at 10 frames/s: a blink (100-400 ms) and a head turn both fit.
    face_max_frames: int = Field(default=20, ge=1, le=60)
    face_min_enrol_frames: int = Field(default=3, ge=1)
    face_challenge_ttl_s: int = Field(default=120, ge=10)
    # Streamed checks (app/attendance/streaming.py): how many actions the server reveals per
    # check, and which it draws from (comma-separated subset of blink, blink_twice, turn_left,
    # turn_right). Measured with 3 reveals from all four: a replayed talking-head clip passed
    # 0.2 % of trials, a responsive learner 100 % (README, "Streamed liveness"). Fewer reveals
    # or actions make a check shorter and weaker; "blink" alone is passed by any video that
    # blinks often (the browser tests' fake camera does exactly that).
    face_stream_reveals: int = Field(default=3, ge=1, le=5)
    face_stream_actions: str = "blink,blink_twice,turn_left,turn_right"
    # A live camera's frames arrive at least this often (frames/s over the stream), never with a
    # longer silence than this between two. A replay tool that pauses to search for the action
    # breaks them; a very slow device does too (raise them only for such devices or tests).
    face_stream_min_fps: float = Field(default=4.0, gt=0, le=20)
    face_stream_max_gap_s: float = Field(default=1.5, gt=0, le=10)
    # The 1:N duplicate index (app/attendance/search.py) of each app process: loaded in the
    # background at start-up and kept current this often (0: loaded by the first enrolment's
    # search, which then waits for it); with the snapshot on, started from an encrypted copy in
    # data_dir/face-index (app/attendance/indexsnapshot.py) rewritten at most this often once
    # the templates changed: seconds to start instead of minutes at 1 M templates.
    face_index_refresh_interval_s: int = Field(default=60, ge=0)
    face_index_snapshot: bool = True
    face_index_snapshot_interval_s: int = Field(default=300, ge=0)
    verify_max_failures: int = Field(default=5, ge=1)
    verify_backoff_base_s: int = Field(default=30, ge=1)
    verify_backoff_max_s: int = Field(default=3600, ge=1)
    evidence_retention_days: int = Field(default=180, ge=1)
    # How often the app marks unanswered roll-calls past their deadline as missed (a closed page
    # sends no heartbeat). 0 disables the in-process sweep (run `skilltrace sweep` instead).
    rollcall_sweep_interval_s: int = Field(default=30, ge=0)
    # Any request body above this is refused (413) before it is read: a burst of webcam frames
    # is a few MB; nobody needs to send 50 MB.
    max_request_bytes: int = Field(default=24 * 1024 * 1024, ge=64 * 1024)
    # How long an Idempotency-Key (POST/PATCH under /api/v1) and its stored response are kept:
    # a repeat within this time is replayed; `skilltrace purge-idempotency` deletes older ones.
    idempotency_ttl_s: int = Field(default=24 * 3600, ge=60)
    # A key still "in progress" after this long belongs to a request whose process died (its
    # work commits only together with its stored response): a retry then runs it again. A
    # request still running past it loses its claim and rolls back (409), so none runs twice.
    idempotency_stale_after_s: int = Field(default=300, ge=1)

    # Webhooks to partner platforms (app/webhooks). How often the app sends due deliveries;
    # 0 disables the in-process sender (run `skilltrace deliver-webhooks` from cron instead).
    webhook_delivery_interval_s: int = Field(default=10, ge=0)
    # Allow http:// and private, loopback or link-local addresses as webhook URLs. Empty: allowed
    # in development and tests, refused in production (server-side request forgery).
    webhook_allow_private: bool | None = None

    # Consent text shown to learners; bump the version whenever the text changes.
    consent_version: str = "2026-12-v2"  # v2: streamed checks (10–15 s) and PAD

    # Study credit per learner per Asia/Shanghai day, over all enrolments (each course's own
    # daily cap applies as well): three courses do not give three days' worth.
    learner_daily_cap_minutes: int = Field(default=480, ge=1, le=24 * 60)

    # Where uploaded files are kept (app/storage.py): lesson videos and posters, certificate
    # scans and evidence crops. "local": under the data dir (one node, or a shared filesystem);
    # "s3": a bucket of an S3-compatible store, shared by every app node (app/storage_s3.py).
    storage: Literal["local", "s3"] = "local"
    s3_endpoint_url: str = ""  # e.g. https://minio.internal:9000; empty: AWS S3 of s3_region
    s3_bucket: str = ""
    s3_region: str = ""  # empty: the SDK's default (AWS_REGION / AWS_DEFAULT_REGION)
    # Both or neither; neither: the SDK's own chain (AWS_ACCESS_KEY_ID…, a profile, an
    # instance role).
    s3_access_key_id: str = ""
    s3_secret_access_key: str = ""
    s3_prefix: str = ""  # keys under this prefix (e.g. "skilltrace/"), to share a bucket
    s3_addressing_style: Literal["auto", "path", "virtual"] = "auto"  # auto+endpoint: path

    # Lesson videos the platform hosts (app/courses/media.py, kept in the media store of
    # app/storage.py): the largest upload and the longest video accepted.
    video_max_bytes: int = Field(default=500 * 1024 * 1024, ge=1024)
    video_max_seconds: int = Field(default=3 * 3600, ge=1)

    # Subsidy: "ever" (default) or "same_year" for the same occupation+level rule.
    subsidy_repeat_scope: Literal["ever", "same_year"] = "ever"

    # Subsidy claims (app/claims). How long an approved batch stays in public notice (公示)
    # before payment may be recorded; how long an institution has to repay a recovery item; and
    # whether an institution with an open recovery past that deadline may file new claims.
    claims_notice_days: int = Field(default=7, ge=0, le=90)
    claims_recovery_due_days: int = Field(default=30, ge=1, le=365)
    claims_block_on_overdue_recoveries: bool = False
    # Class filing (app/filing). An opening filing (开班备案) is due this many days before the
    # class's first day (0: by the first day itself); a completion filing (结业备案) within this
    # many days after the class ended (结业). Later filings are flagged late on both sides. Whether
    # training in a class whose opening was filed late counts for subsidy once approved.
    class_opening_lead_days: int = Field(default=0, ge=0, le=60)
    class_completion_filing_days: int = Field(default=15, ge=0, le=180)
    class_filing_late_counts: bool = True
    # The regional real-name training system (app/exchange): where certificates, completions
    # and claim batches are pushed (empty: records are kept in the outbox, nothing is sent), the
    # shared secret (``whsec_`` + base64 of 32 bytes) that signs the pushes and the system's
    # receipts, and how often the app sends due records (0: `skilltrace deliver-exchange`).
    regional_exchange_url: str = ""
    regional_exchange_secret: str = ""
    regional_exchange_interval_s: int = Field(default=30, ge=0)

    log_level: str = "INFO"
    # "text" (one line per record) or "json" (one JSON object per line, for log collectors:
    # time, level, logger, message, request_id, and the exception if any).
    log_format: Literal["text", "json"] = "text"

    # Operations. /metrics (Prometheus text format) answers only requests from these networks
    # (comma-separated CIDRs; behind a balancer the client address uvicorn reports, see
    # FORWARDED_ALLOW_IPS) or carrying "Authorization: Bearer <metrics_token>"; others get 404.
    metrics_allow_networks: str = "127.0.0.0/8,::1/128"
    metrics_token: str = ""

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> Settings:
        if self.env is not Environment.development and (
            self.secret_key == DEFAULT_SECRET_KEY or len(self.secret_key) < 32
        ):
            raise ValueError(
                "SKILLTRACE_SECRET_KEY must be set to a random value of at least 32 characters "
                "outside development"
            )
        for network in filter(None, (n.strip() for n in self.metrics_allow_networks.split(","))):
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError:
                raise ValueError(
                    f"SKILLTRACE_METRICS_ALLOW_NETWORKS: {network!r} is not a network "
                    "(e.g. 10.0.0.0/8)"
                ) from None
        if self.metrics_token and len(self.metrics_token) < 16:
            raise ValueError("SKILLTRACE_METRICS_TOKEN must be at least 16 characters")
        self._check_s3()
        if self.email_sender == "smtp" and (not self.smtp_host or not self.smtp_from):
            raise ValueError(
                "SKILLTRACE_EMAIL_SENDER=smtp needs SKILLTRACE_SMTP_HOST and SKILLTRACE_SMTP_FROM"
            )
        if bool(self.smtp_username) != bool(self.smtp_password):
            raise ValueError("SKILLTRACE_SMTP_USERNAME and SKILLTRACE_SMTP_PASSWORD: set both")
        if self.face_accept_threshold >= self.face_reject_threshold:
            raise ValueError("face_accept_threshold must be below face_reject_threshold")
        if self.face_sface_accept_threshold <= self.face_sface_reject_threshold:
            raise ValueError(
                "face_sface_accept_threshold must be above face_sface_reject_threshold "
                "(cosine similarity: larger is closer)"
            )
        return self

    def _check_s3(self) -> None:
        """The S3 settings, when S3 is chosen: each refusal is one line naming the variable."""
        if self.storage != "s3":
            return
        if not self.s3_bucket:
            raise ValueError("SKILLTRACE_STORAGE=s3 needs SKILLTRACE_S3_BUCKET")
        if not _BUCKET.fullmatch(self.s3_bucket) or ".." in self.s3_bucket:
            raise ValueError(
                f"SKILLTRACE_S3_BUCKET: {self.s3_bucket!r} is not a bucket name (3-63 lowercase "
                "letters, digits, dots and hyphens)"
            )
        if self.s3_endpoint_url and not _ENDPOINT.fullmatch(self.s3_endpoint_url):
            raise ValueError(
                f"SKILLTRACE_S3_ENDPOINT_URL: {self.s3_endpoint_url!r} is not an http(s) URL "
                "(e.g. https://minio.internal:9000)"
            )
        if bool(self.s3_access_key_id) != bool(self.s3_secret_access_key):
            raise ValueError(
                "SKILLTRACE_S3_ACCESS_KEY_ID and SKILLTRACE_S3_SECRET_ACCESS_KEY: set both "
                "(or neither, for the SDK's own credentials)"
            )
        if self.s3_prefix and not _PREFIX.fullmatch(self.s3_prefix):
            raise ValueError(
                f"SKILLTRACE_S3_PREFIX: {self.s3_prefix!r} must be path segments of lowercase "
                "letters, digits, '.', '_' or '-' ending in '/' (e.g. skilltrace/)"
            )

    @field_validator("face_stream_actions")
    @classmethod
    def _known_stream_actions(cls, v: str) -> str:
        known = ("blink", "blink_twice", "turn_left", "turn_right")
        actions = [a.strip() for a in v.split(",") if a.strip()]
        unknown = [a for a in actions if a not in known]
        if not actions or unknown:
            raise ValueError(f"face_stream_actions: use a comma-separated subset of {known}")
        return ",".join(actions)

    def face_thresholds(self, engine: str | None = None) -> tuple[float, float]:
        """(accept, reject) of an engine's model, in that model's metric."""
        if (engine or self.face_engine) == "dlib":
            return self.face_accept_threshold, self.face_reject_threshold
        return self.face_sface_accept_threshold, self.face_sface_reject_threshold

    @property
    def webhook_private_allowed(self) -> bool:
        if self.webhook_allow_private is not None:
            return self.webhook_allow_private
        return self.env is not Environment.production

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'skilltrace.db').resolve()}"

    @property
    def base_url(self) -> str:
        return self.public_base_url.rstrip("/") or f"http://{self.host}:{self.port}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
