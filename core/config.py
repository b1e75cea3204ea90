"""Configuration: safe defaults, overridden by DATABASE_URL and GREENLANE_* environment variables."""
import os
from pathlib import Path
from typing import Any, Mapping

from flask import Flask


class BaseConfig:
    # GREENLANE_DEMO=1 allows development defaults for secrets (with a warning); never in production.
    DEMO = False
    # base64 of 32 random bytes each; required unless DEMO.
    DATA_KEY = None
    INDEX_KEY = None
    PII_KEY_VERSION = 1  # the version byte of the data key; +1 at each rotation (docs/deploy.md, section 9)
    PREVIOUS_DATA_KEY = None  # while rotating only: the pair in use before, version PII_KEY_VERSION - 1
    PREVIOUS_INDEX_KEY = None
    KEY_PASSPHRASE = None
    MAX_PASS_DAYS = 7
    RETURN_MINUTES = 90  # an inbound driver must scan out at the crossing this soon after dropping a load
    MAX_SCAN_AGE_HOURS = 72  # an offline device must upload a queued scan within this many hours of it
    # How long an offline device may use each signed document (its expires_at); past it: stale_* reasons.
    STATUS_LIST_LIFETIME_HOURS = 24  # the status list and the test ages list
    POLICY_BUNDLE_LIFETIME_HOURS = 7 * 24
    TRUST_LIST_LIFETIME_HOURS = 7 * 24
    MAX_IMPORT_BYTES = 16 * 1024 * 1024
    MAX_CONTENT_LENGTH = 20 * 1024 * 1024
    LOG_LEVEL = "INFO"
    TRUSTED_PROXIES = 0  # GREENLANE_TRUSTED_PROXIES: reverse proxies in front whose X-Forwarded-For is believed
    REDIS_URL = None  # GREENLANE_REDIS_URL: shared rate-limit counters for several app hosts
    RATELIMIT_REGISTRATION = "20 per hour"     # anonymous firm applications per client address
    RATELIMIT_FAILED_AUTH = "30 per 10 minutes"  # bad or revoked tokens per client address (good ones never wait)
    RATELIMIT_FAILED_AUTH_TOKEN = "10 per 10 minutes"  # the same bad token (by its prefix), from anywhere
    RATELIMIT_IMPORT = "10 per hour"            # CSV people imports per firm, whoever sends them
    RATELIMIT_BATCH = "30 per hour"             # fleet applications (POST /passes/batch) per firm
    RATELIMIT_KEY_PREFIX = "greenlane"
    RATELIMIT_STORAGE_RETRY_SECONDS = 5  # an unreachable Redis is asked again after this long (fail open meanwhile)
    # Sign-in with a user name and password (core/signin.py, core/websessions.py, core/passwords.py).
    SIGNIN_MAX_FAILURES_PER_ACCOUNT = 5   # per user name within the window, then 429
    SIGNIN_MAX_FAILURES_PER_ADDRESS = 30  # per client address within the window, then 429
    SIGNIN_WINDOW_MINUTES = 15
    SESSION_IDLE_MINUTES = 8 * 60
    SESSION_ABSOLUTE_MINUTES = 24 * 60
    COOKIE_SECURE = None  # web session cookies HTTPS-only; None means: yes, unless DEMO (plain http://localhost)
    REQUIRE_2FA_ROLES = ""  # comma list of roles (e.g. "admin,regulator") that must pass TOTP
    ARGON2_TIME_COST = 3        # argon2-cffi's defaults (RFC 9106 low-memory profile); raising them
    ARGON2_MEMORY_KIB = 65536   # rehashes each password at its next sign-in
    ARGON2_PARALLELISM = 4
    PDF_FONT = None  # GREENLANE_PDF_FONT: a CJK TrueType font for the windscreen PDF; else Debian's WenQuanYi or Noto CJK

    API_TITLE = "GreenLane"
    API_VERSION = "1.0"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api/v1"
    OPENAPI_JSON_PATH = "openapi.json"
    OPENAPI_SWAGGER_UI_PATH = "/docs"
    # Served by the app itself (web/static/vendor, see its README.md): the docs work with no internet.
    OPENAPI_SWAGGER_UI_URL = "/static/vendor/swagger-ui-5.35.0/"
    OPENAPI_SWAGGER_UI_CONFIG = {"validatorUrl": None}  # no badge fetched from validator.swagger.io
    JSON_SORT_KEYS = False


def normalise_database_url(url: str) -> str:
    """Use the psycopg 3 driver for plain postgres:// URLs, as hosting platforms hand them out."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def load_config(app: Flask, overrides: Mapping[str, Any] | None) -> None:
    """Defaults, then the environment, then explicit overrides (tests)."""
    app.config.from_object(BaseConfig)
    app.config.from_prefixed_env("GREENLANE")
    if os.environ.get("DATABASE_URL"):
        app.config["DATABASE_URL"] = os.environ["DATABASE_URL"]
    app.config.update(overrides or {})
    if not app.config.get("DATABASE_URL"):
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
        app.config["DATABASE_URL"] = f"sqlite:///{Path(app.instance_path) / 'greenlane.db'}"
    app.config["DATABASE_URL"] = normalise_database_url(app.config["DATABASE_URL"])
