"""Service configuration: one Settings class read from MATCHMAKER_* environment variables."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from matchmaker.vectors.kinds import DEFAULT_INDEX_KIND, INDEX_KIND_NAMES


class Settings(BaseSettings):
    """Everything the service can be configured with; tests construct it directly."""

    # Errors never repeat a value: settings hold secrets (session secret, database URL with a password).
    model_config = SettingsConfigDict(env_prefix="MATCHMAKER_", extra="ignore", hide_input_in_errors=True)

    # Where the SQLite file (and later the vector index) lives.
    data_dir: Path = Path("./var")
    # A SQLAlchemy URL; empty means the SQLite file under data_dir.
    database_url: str = ""
    # "development" allows conveniences; "production" refuses unsafe defaults (see validator).
    environment: str = "development"
    host: str = "127.0.0.1"
    port: int = 8000
    # Largest page size a list endpoint returns.
    max_page_size: int = 100
    # Largest import body accepted over HTTP, in bytes.
    max_import_bytes: int = 50 * 1024 * 1024
    # Largest uploaded document (a business licence, a verification report: PDF or image), in bytes.
    max_document_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    # Largest other request body (JSON, forms), in bytes; counted while it is read, never buffered whole.
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    log_level: str = "info"
    # The embedding model: "use" (multilingual USE v3, packaged), "minilm", or "st:<name or path>".
    model: str = "use"
    # How the vectors are held, each with the same results: "mapped" (default: the saved vectors mapped
    # into memory, one copy for every worker process of a machine, and the rows changed since in each
    # process), "faiss" (a flat FAISS index in each process) or "numpy" (a matrix in each process).
    index_kind: str = DEFAULT_INDEX_KIND
    # A bilingual glossary TSV; empty means the repository's models/glossary.tsv.
    glossary_path: str | None = None
    # The model of relevance (JSON, `train_relevance.py`); empty means the repository's models/relevance.json.
    # Without one, the hybrid formula and its floor decide which offers are matches.
    relevance_model_path: str | None = None
    # Seconds between saves of a changed index to the data directory (the database stays the truth). A
    # start from an older save reads what changed since from the database, with the vectors writers stored:
    # a save spares it little, and costs every vector written again (200 MB at 100,000 offers).
    index_save_interval: float = 300.0
    # Load the indexes beside the app (it answers /healthz at once; /readyz says when matching can), or
    # before it serves (every request then finds them ready). Unset: beside it when the app opens its own
    # database, before it when it is handed a session factory (which may share one connection).
    start_in_background: bool | None = None
    # Matching requests computed at once per process (0: one per core but one, at least one); more wait.
    matching_concurrency: int = Field(default=0, ge=0, le=256)
    # Signs the web pages' CSRF tokens and PACT access tokens. Empty: a random secret kept in data_dir
    # (one machine only); replicas behind one load balancer must share it, so production requires it.
    session_secret: str = ""
    # Send the session cookie only over HTTPS (production default: true).
    cookie_secure: bool | None = None
    # The PACT host's naming authority in the URNs and footprint ids it makes (urn:pact:<issuer>:...).
    pact_issuer: str = Field(default="matchmaker.local", pattern=r"^[A-Za-z0-9.-]+$")
    # The service's public address (https://example.org/matchmaker) behind a reverse proxy: the absolute
    # URLs the PACT host writes (discovery document, Link headers, event sources) start with it. Unset:
    # the request's own base URL, which behind a TLS-terminating proxy is the internal http one.
    public_url: str | None = None
    # Hours a web session lasts after sign-in.
    session_hours: float = Field(default=12.0, gt=0, le=24 * 30)
    # Let organisations' webhooks point at loopback, private or link-local addresses. Off: a webhook is a
    # URL any organisation gives, and the service would post to its own network for them.
    webhook_allow_private: bool = False

    @field_validator("environment")
    @classmethod
    def _known_environment(cls, value: str) -> str:
        if value not in {"development", "test", "production"}:
            raise ValueError("environment must be development, test or production")
        return value

    @field_validator("index_kind")
    @classmethod
    def _known_index_kind(cls, value: str) -> str:
        if value not in INDEX_KIND_NAMES:
            raise ValueError(f"index_kind must be one of {', '.join(INDEX_KIND_NAMES)}")
        return value

    @field_validator("public_url")
    @classmethod
    def _absolute_public_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip()
        if "@" in value.split("://", 1)[-1].split("/", 1)[0]:
            # Before any message that would echo the value: credentials must not reach a log.
            raise ValueError("public_url must not carry credentials: it is written into responses")
        try:
            parts = urlsplit(value)
            # Reading the port raises on one that is not a number.
            absolute = parts.scheme.lower() in {"http", "https"} and bool(parts.hostname) and parts.port != 0
        except ValueError:
            absolute = False
        # Printable ASCII without <, > or ": the URL is written into Link headers as <...>.
        if not absolute or not re.fullmatch(r"[!-~]+", value) or any(c in value for c in '<>"'):
            raise ValueError(
                f"public_url must be an absolute http(s) URL like https://example.org/prefix, not {value!r}"
            )
        if parts.query or parts.fragment or value.endswith(("?", "#")):
            raise ValueError(f"public_url must have no query or fragment, got {value!r}")
        # One form, so that "<public_url>/3/footprints" never has a doubled slash.
        return value.rstrip("/")

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Settings:
        # A production deployment must name its database: a SQLite file in ./var on a server that runs
        # several replicas would silently split the data.
        if self.environment == "production" and not self.database_url:
            raise ValueError("MATCHMAKER_DATABASE_URL must be set when MATCHMAKER_ENVIRONMENT=production")
        if self.environment == "production" and len(self.session_secret) < 32:
            raise ValueError(
                "MATCHMAKER_SESSION_SECRET (32 characters or more) must be set when "
                "MATCHMAKER_ENVIRONMENT=production"
            )
        return self

    @property
    def secure_cookies(self) -> bool:
        return self.cookie_secure if self.cookie_secure is not None else self.environment == "production"

    @property
    def sqlalchemy_url(self) -> str:
        """The database URL, defaulting to a SQLite file in the data directory."""
        if self.database_url:
            return normalise_database_url(self.database_url)
        return f"sqlite:///{(self.data_dir / 'matchmaker.sqlite3').resolve()}"


def normalise_database_url(url: str) -> str:
    """Use the psycopg 3 driver for plain postgres:// and postgresql:// URLs."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


@lru_cache
def get_settings() -> Settings:
    """Return the process-wide settings, read once from the environment."""
    return Settings()


def scratch_settings(directory: Path) -> Settings:
    """Settings for a throwaway run in `directory` (an evaluation, a benchmark): its own SQLite file there,
    whatever MATCHMAKER_DATABASE_URL says, so it never touches real data; the configured model."""
    return Settings(
        data_dir=directory,
        database_url=f"sqlite:///{directory / 'scratch.sqlite3'}",
        model=get_settings().model,
        environment="test",
    )
