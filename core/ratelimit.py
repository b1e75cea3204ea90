"""Rate limits on anonymous registration and failed authentication (per client address) and on people
imports (per firm): Flask-Limiter; Redis storage when GREENLANE_REDIS_URL is set, so every app host shares
the counters; memory otherwise."""
import time

from flask import Flask, current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits import parse

from core.errors import AppError


class TooManyRequests(AppError):
    status, code, title = 429, "rate_limited", "Too many requests"

    def __init__(self, message: str, *, retry_after: int):
        super().__init__(message, details={"retry_after": retry_after})
        self.headers = {"Retry-After": str(retry_after)}


def init_app(app: Flask) -> Limiter:
    # No default limits: only the two abuse-prone paths below are limited.
    limiter = Limiter(key_func=get_remote_address, app=app, storage_uri=app.config.get("REDIS_URL") or "memory://",
                      key_prefix=app.config["RATELIMIT_KEY_PREFIX"], default_limits=[])
    app.extensions["limiter"] = limiter
    return limiter


def require_capacity(bucket: str) -> None:
    """Raise TooManyRequests when this client has used up `bucket` (e.g. "registration")."""
    item, keys = _item(bucket), _keys(bucket)
    strategy = current_app.extensions["limiter"].limiter
    if not strategy.test(item, *keys):
        reset = strategy.get_window_stats(item, *keys).reset_time
        raise TooManyRequests(f"too many {bucket.replace('_', ' ')} attempts from this address; try later",
                              retry_after=max(1, int(reset - time.time()) + 1))


def consume(bucket: str) -> None:
    """Count one attempt in `bucket` for this client."""
    current_app.extensions["limiter"].limiter.hit(_item(bucket), *_keys(bucket))


def consume_or_refuse(bucket: str, *, key: str, message: str) -> None:
    """Count one use of `bucket` for `key` (e.g. "firm:7") rather than for the client address, or raise
    TooManyRequests when it is used up. Testing and counting are one atomic step."""
    item, keys = _item(bucket), (current_app.config["RATELIMIT_KEY_PREFIX"], bucket, key)
    strategy = current_app.extensions["limiter"].limiter
    if not strategy.hit(item, *keys):
        reset = strategy.get_window_stats(item, *keys).reset_time
        raise TooManyRequests(message, retry_after=max(1, int(reset - time.time()) + 1))


def _keys(bucket: str) -> tuple[str, str, str]:
    # The prefix separates deployments (and test runs) that share one Redis.
    return current_app.config["RATELIMIT_KEY_PREFIX"], bucket, get_remote_address()


def _item(bucket: str):
    return parse(current_app.config[f"RATELIMIT_{bucket.upper()}"])
