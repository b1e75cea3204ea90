"""Typed application errors and the one place that turns every error into application/problem+json."""
import logging
from typing import Any

from flask import Flask, Response, json, request
from marshmallow import Schema, ValidationError, fields
from sqlalchemy.exc import DataError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("greenlane.errors")


class AppError(Exception):
    """An expected failure of a request; carries its HTTP status and a stable machine-readable code."""

    status = 400
    code = "bad_request"
    title = "Bad request"

    def __init__(self, message: str | None = None, *, details: dict[str, Any] | None = None):
        self.message = message or self.title
        self.details = details or {}
        super().__init__(self.message)


class Unauthorized(AppError):
    status, code, title = 401, "unauthorized", "Authentication required"


class Forbidden(AppError):
    status, code, title = 403, "forbidden", "Not allowed"


class NotFound(AppError):
    status, code, title = 404, "not_found", "Not found"


class Conflict(AppError):
    status, code, title = 409, "conflict", "Conflict"


class InvalidState(Conflict):
    code, title = "invalid_state", "Not allowed in the current state"


class PayloadTooLarge(AppError):
    status, code, title = 413, "payload_too_large", "Payload too large"


class UnsupportedMediaType(AppError):
    status, code, title = 415, "unsupported_media_type", "Unsupported media type"


class Unprocessable(AppError):
    """Input that is well-formed but wrong; `fields` maps field names to messages."""

    status, code, title = 422, "validation_failed", "Validation failed"

    def __init__(self, message: str | None = None, *, fields: dict[str, Any] | list | None = None,
                 details: dict[str, Any] | None = None):
        super().__init__(message, details=details)
        self.fields = fields or {}


def problem(status: int, code: str, title: str, detail: str | None = None, *,
            members: dict[str, Any] | None = None, **extra: Any) -> Response:
    """`members`: RFC 9457 extension members kept even when empty or zero (e.g. "accepted": 0)."""
    body = {"type": f"https://greenlane.example/problems/{code}", "title": title, "status": status,
            "code": code}
    if detail:
        body["detail"] = detail
    body.update({k: v for k, v in extra.items() if v})
    body.update(members or {})
    return Response(json.dumps(body, ensure_ascii=False), status=status, mimetype=PROBLEM_JSON)


def _flatten_webargs(messages: Any) -> dict[str, Any]:
    # webargs nests messages under the location ("json", "query"); users only care about the field.
    if isinstance(messages, dict) and set(messages) <= {"json", "query", "form", "headers", "files",
                                                        "view_args", "path", "cookies"}:
        flat: dict[str, Any] = {}
        for location_messages in messages.values():
            if isinstance(location_messages, dict):
                flat.update(location_messages)
            else:
                flat.setdefault("_schema", []).extend(location_messages)
        return flat
    return messages if isinstance(messages, dict) else {"_schema": messages}


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(AppError)
    def _app_error(e: AppError):
        fields = getattr(e, "fields", None)
        response = problem(e.status, e.code, e.title, e.message if e.message != e.title else None,
                           errors=fields, details=e.details, members=getattr(e, "members", None))
        response.headers.extend(getattr(e, "headers", {}))
        return response

    @app.errorhandler(ValidationError)
    def _validation(e: ValidationError):
        return problem(422, "validation_failed", "Validation failed", errors=_flatten_webargs(e.messages))

    @app.errorhandler(HTTPException)
    def _http(e: HTTPException):
        data = getattr(e, "data", None) or {}
        if e.code == 422 and "messages" in data:
            return problem(422, "validation_failed", "Validation failed",
                           errors=_flatten_webargs(data["messages"]))
        code = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
                405: "method_not_allowed", 409: "conflict", 413: "payload_too_large",
                415: "unsupported_media_type", 429: "rate_limited"}.get(e.code or 500, "http_error")
        detail = data.get("message") or e.description
        if e.code == 400 and "messages" in data:
            detail = "The request body is not valid JSON."
        response = problem(e.code or 500, code, e.name, detail)
        for key, value in (e.get_headers() if hasattr(e, "get_headers") else []):
            if key.lower() not in ("content-type", "content-length"):
                response.headers[key] = value
        return response

    @app.errorhandler(DataError)
    def _data_error(e: DataError):
        # Last line of defence: the database refused a value that validation let through.
        log.warning("database refused a value on %s %s: %s", request.method, request.path, type(e.orig).__name__)
        return problem(422, "unstorable_value", "Validation failed",
                       "A value is out of range or contains characters that cannot be stored.")

    @app.errorhandler(UnicodeEncodeError)
    def _unencodable(e: UnicodeEncodeError):
        # A lone surrogate ("\ud800" in JSON) that reached the database driver: the input's fault, not ours.
        log.warning("unencodable text on %s %s", request.method, request.path)
        return problem(422, "unstorable_value", "Validation failed",
                       "A value contains characters that cannot be stored.")

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    @app.errorhandler(PoolTimeout)
    def _database_unavailable(e: Exception):
        return database_unavailable(e)

    @app.errorhandler(Exception)
    def _crash(e: Exception):
        # Never echo the exception text: it can carry SQL, paths or personal data.
        log.exception("unhandled error on %s %s", request.method, request.path)
        return problem(500, "internal_error", "Internal server error",
                       "An unexpected error occurred; it has been logged.")


DATABASE_RETRY_AFTER_SECONDS = 5


def database_unavailable(e: Exception) -> Response:
    """503 for a database that is down, restarting, read-only or full: the transaction was rolled back,
    so nothing of the request was stored and the client may send it again."""
    orig = getattr(e, "orig", None) or e
    # The driver's first line only (e.g. "attempt to write a readonly database"): never the SQL or its values.
    reason = str(orig).splitlines()[0][:160] if str(orig) else ""
    log.warning("database unavailable on %s %s: %s %s", request.method, request.path, type(orig).__name__, reason)
    response = problem(503, "database_unavailable", "Service unavailable",
                       "The database cannot be reached or cannot store data right now. Nothing of this request "
                       "was saved; send it again in a few seconds.")
    response.headers["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
    return response


class ProblemSchema(Schema):
    """RFC 9457 problem details, as every error response of this API is shaped (documentation only)."""

    type = fields.String()
    title = fields.String()
    status = fields.Integer()
    code = fields.String(metadata={"description": "stable machine-readable error code"})
    detail = fields.String()
    errors = fields.Raw(metadata={"description": "validation errors: field name → list of messages; "
                                                 "for CSV imports a list of {row, column, message}"})
    details = fields.Dict()
