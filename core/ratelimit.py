"""Rate limits on anonymous registration and failed authentication (per client address) and on people
imports (per firm): the `limits` library's fixed windows, taken explicitly where they apply; Redis
storage when GREENLANE_REDIS_URL is set, so every app host shares the counters; memory otherwise (then
each worker process counts on its own).

When Redis is unreachable or slow the limits fail open: requests are answered unthrottled rather than
refused or crashed, because a dead limiter must not take registration and sign-in down with it. The
storage is then left alone for a few seconds, a warning is logged at most once a minute, and every
request let through unchecked is counted (`fail_open_total`)."""
import hashlib
import logging
import threading
import time
from dataclasses import dataclass, field

from flask import Flask, current_app, request
from limits import parse
from limits.errors import StorageError
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

from core.errors import AppError

log = logging.getLogger("greenlane.ratelimit")
# What a failing Redis raises through `limits` (wrapped or not) or straight from the socket.
STORAGE_ERRORS = (StorageError, RedisError, OSError)
REDIS_TIMEOUT_SECONDS = 0.25  # a rate-limit check may cost a request at most about this much
LOG_EVERY_SECONDS = 60.0


class TooManyRequests(AppError):
    status, code, title = 429, "rate_limited", "Too many requests"

    def __init__(self, message: str, *, retry_after: int):
        super().__init__(message, details={"retry_after": retry_after})
        self.headers = {"Retry-After": str(retry_after)}


@dataclass
class StorageHealth:
    """Whether the counter storage answers; how many checks were skipped because it did not."""

    skip_seconds: float = 5.0  # after a failure the storage is not asked again for this long
    fail_open_total: int = 0
    unavailable_until: float = 0.0
    last_logged: float = float("-inf")
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def skipping(self, now: float) -> bool:
        return now < self.unavailable_until

    def failed_open(self, now: float, error: Exception | None) -> None:
        with self.lock:
            self.fail_open_total += 1
            if error is not None:
                self.unavailable_until = now + self.skip_seconds
            due = now - self.last_logged >= LOG_EVERY_SECONDS
            if due:
                self.last_logged = now
        if due:
            log.warning("rate-limit storage unavailable (%s): limits fail open; %d checks skipped so far",
                        type(error).__name__ if error else "still down", self.fail_open_total)

    @property
    def available(self) -> bool:
        return not self.skipping(time.monotonic())


def init_app(app: Flask) -> None:
    # Only the abuse-prone paths are limited: registration, failed authentication, imports, batches.
    redis_url = app.config.get("REDIS_URL")
    # Short socket timeouts and no retries: a slow Redis costs a request a fraction of a second, once.
    options = {"socket_timeout": REDIS_TIMEOUT_SECONDS, "socket_connect_timeout": REDIS_TIMEOUT_SECONDS,
               "retry": Retry(NoBackoff(), 0)} if redis_url else {}
    # Every limit is taken explicitly (take, consume_or_refuse, count_failed_auth), so no per-request hook:
    # Flask-Limiter's, used before, looked for route limits that do not exist on every request (about a
    # tenth of a scan's time: docs/performance.md).
    storage = storage_from_string(redis_url or "memory://", **options)
    app.extensions["rate_limiter"] = FixedWindowRateLimiter(storage)
    app.extensions["ratelimit_health"] = StorageHealth(skip_seconds=float(app.config["RATELIMIT_STORAGE_RETRY_SECONDS"]))


def log_storage(app: Flask) -> None:
    """Say at start-up where the counters live (called once the app is known to start)."""
    if app.config.get("REDIS_URL"):
        log.info("rate limits: counters in Redis, shared by every worker and app host")
    else:
        # Each worker counts on its own: the real limit is the configured one times the workers (and hosts).
        log.warning("rate limits: no GREENLANE_REDIS_URL, so counters are per process: with N workers or hosts "
                    "a client gets up to N times each limit; set GREENLANE_REDIS_URL to share them")


def _guarded(call, fallback):
    """`call()` against the counter storage, or `fallback` (let the request through) when it fails."""
    health: StorageHealth = current_app.extensions["ratelimit_health"]
    now = time.monotonic()
    if health.skipping(now):
        health.failed_open(now, None)
        return fallback
    try:
        return call()
    except STORAGE_ERRORS as e:
        health.failed_open(now, e)
        return fallback


def take(bucket: str) -> None:
    """Count one attempt in `bucket` for this client, or raise TooManyRequests when it is used up. Testing
    and counting are one atomic step, so concurrent requests (on any host) cannot all pass a check made
    before any of them was counted."""
    _hit_or_refuse(_item(bucket), _keys(bucket),
                   f"too many {bucket.replace('_', ' ')} attempts from this address; try later")


def consume_or_refuse(bucket: str, *, key: str, message: str) -> None:
    """Count one use of `bucket` for `key` (e.g. "firm:7") rather than for the client address, or raise
    TooManyRequests when it is used up. Testing and counting are one atomic step."""
    _hit_or_refuse(_item(bucket), (current_app.config["RATELIMIT_KEY_PREFIX"], bucket, key), message)


def _hit_or_refuse(item, keys: tuple, message: str) -> None:
    strategy = current_app.extensions["rate_limiter"]
    if not _guarded(lambda: strategy.hit(item, *keys), True):
        reset = _guarded(lambda: strategy.get_window_stats(item, *keys).reset_time, time.time() + 60)
        raise TooManyRequests(message, retry_after=max(1, int(reset - time.time()) + 1))


def count_failed_auth(token: str) -> None:
    """Count one bad or revoked token against the client address and against the token's prefix (the
    same stale token sent again and again); raise TooManyRequests once either is used up."""
    prefix = current_app.config["RATELIMIT_KEY_PREFIX"]
    # Only a hash of the prefix reaches the counter store, never token material.
    token_key = hashlib.sha256(token[:16].encode("utf-8", "replace")).hexdigest()[:16]
    checks = ((_item("failed_auth"), _keys("failed_auth")),
              (_item("failed_auth_token"), (prefix, "failed_auth_token", token_key)))
    strategy = current_app.extensions["rate_limiter"]
    for item, keys in checks:
        if not _guarded(lambda: strategy.hit(item, *keys), True):
            reset = _guarded(lambda: strategy.get_window_stats(item, *keys).reset_time, time.time() + 60)
            raise TooManyRequests("too many failed authentication attempts; try later",
                                  retry_after=max(1, int(reset - time.time()) + 1))


def _keys(bucket: str) -> tuple[str, str, str]:
    # The prefix separates deployments (and test runs) that share one Redis.
    return current_app.config["RATELIMIT_KEY_PREFIX"], bucket, request.remote_addr or "127.0.0.1"


def _item(bucket: str):
    return parse(current_app.config[f"RATELIMIT_{bucket.upper()}"])
