"""Small helpers for thin routes: the app-wide reference objects and paging, and the request edge every
route shares (JSON nesting limit, JSON bodies only where a route reads JSON, UTF-8 JSON answers)."""
import json
import re
from itertools import accumulate

import flask_smorest
from flask import Flask, current_app, request
from flask.json.provider import DefaultJSONProvider
from marshmallow import Schema
from webargs.flaskparser import FlaskParser
from werkzeug.exceptions import BadRequest

from core.areas import AreaTree
from core.db import Page
from core.errors import UnsupportedMediaType, Unprocessable
from core.pii import PersonalDataCipher


def area_tree() -> AreaTree:
    return current_app.extensions["areas"]


def pii_cipher() -> PersonalDataCipher:
    return current_app.extensions["pii"]


class _OneSchemaPerClass(FlaskParser):
    """webargs makes a new instance of a schema *class* on every request, and a marshmallow Schema copies
    its declared fields when it is made (about 5 % of a recorded scan). Our schemas keep no state between
    loads, so one instance per class serves every request and thread."""

    def __init__(self):
        super().__init__()
        self._instances: dict[type[Schema], Schema] = {}

    def _get_schema(self, argmap, req) -> Schema:
        if isinstance(argmap, type) and issubclass(argmap, Schema):
            schema = self._instances.get(argmap)
            if schema is None:
                schema = self._instances.setdefault(argmap, argmap())
            return schema
        return super()._get_schema(argmap, req)


class Blueprint(flask_smorest.Blueprint):
    """The API's blueprint: flask-smorest's, parsing arguments with one schema instance per class."""

    ARGUMENTS_PARSER = _OneSchemaPerClass()


MAX_PAGE = 1_000_000  # beyond this the offset could overflow the database's 64-bit integers


def page_of(pagination_parameters) -> Page:
    """smorest's pagination parameters as the services' Page value. Raises Unprocessable on a page
    number no list can reach."""
    if pagination_parameters.page > MAX_PAGE:
        raise Unprocessable(fields={"page": [f"must be at most {MAX_PAGE}"]})
    return Page(pagination_parameters.page, pagination_parameters.page_size)


MAX_JSON_DEPTH = 64  # no payload of this API nests deeper than 4; the parsers recurse once per level
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")
_STEPS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")  # +1 down a level, -1 (signed byte) back up


def json_too_deep(body: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether a JSON text nests arrays and objects more than `limit` levels deep, found without parsing
    it: strings are dropped, then the running depth of the remaining brackets is summed in C. Unclosed or
    mismatched brackets count as levels too: a parser would descend into them before seeing the error."""
    steps = _JSON_STRING.sub(b"", body).translate(_STEPS, _NOT_BRACKET)
    if steps.count(b"\x01") <= limit:  # the usual case: too few openings to be too deep
        return False
    depth = 0
    for start in range(0, len(steps), 1 << 16):  # in slices, so a hostile body is refused early
        chunk = steps[start:start + (1 << 16)]
        if max(accumulate(memoryview(chunk).cast("b"), initial=depth)) > limit:
            return True
        depth += chunk.count(b"\x01") - chunk.count(b"\xff")
    return False


class JSONProvider(DefaultJSONProvider):
    """Flask's JSON with UTF-8 text: Chinese names are sent as characters, not as \\uXXXX escapes."""

    ensure_ascii = False


def init_app(app: Flask) -> None:
    app.json = JSONProvider(app)

    @app.before_request
    def _refuse_deep_json():
        # One check before any parser (Flask's get_json or webargs, which calls the stdlib json directly)
        # recurses into the body: a 5,000-level document would otherwise exhaust the stack.
        if request.is_json and json_too_deep(request.get_data(cache=True)):
            raise BadRequest(f"The JSON body is nested more than {MAX_JSON_DEPTH} levels deep.")


def require_json_bodies(app: Flask) -> None:
    """A route that reads a JSON body (smorest `arguments` in "json") refuses any other body before the
    view runs: 415 for text/plain, a form or a file, 400 for a body that does not parse. Otherwise a
    schema whose fields are all optional would read such a body as {} and answer 200 having done nothing.
    No body at all is left to the route (a required body answers 422). Call it once every route is
    registered."""
    routes = set()
    for endpoint, view in app.view_functions.items():
        view_class = getattr(view, "view_class", None)
        for method in ("POST", "PUT", "PATCH", "DELETE"):
            function = getattr(view_class, method.lower(), None) if view_class else view
            parameters = getattr(function, "_apidoc", {}).get("arguments", {}).get("parameters", [])
            if any(p.get("in") == "json" for p in parameters):
                routes.add((endpoint, method))

    @app.before_request
    def _json_bodies_only():
        if (request.endpoint, request.method) not in routes:
            return
        body = request.get_data(cache=True)
        if not body.strip():
            return
        if not request.is_json:
            raise UnsupportedMediaType(f"this route reads JSON: send the body as JSON with Content-Type: "
                                       f"application/json (not {request.mimetype or 'no type'})")
        try:  # as the body's nesting depth, checked before authentication: the answer is about the body only
            json.loads(body)
        except ValueError:  # also invalid UTF-8 (UnicodeDecodeError); the words webargs used for it before
            raise BadRequest("The request body is not valid JSON.") from None
