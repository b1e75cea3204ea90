"""What the portal's list and form pages share: another firm's record is a 404, form input loaded through
the API's schema with errors in the reader's language, and page numbers."""
from typing import Callable

from flask import flash, redirect, request, url_for
from marshmallow import Schema, ValidationError

from core.db import Page
from core.errors import AppError, Forbidden, NotFound
from web.portal import actor, areas, db
from web.portal.messages import field_of_error, translate_fields

PAGE_SIZE = 25
MAX_PAGE = 10_000


def owned(getter: Callable, item_id: int):
    """The firm's own record through a service getter; another firm's is a 404, not a 403: a firm must
    not learn which ids exist elsewhere."""
    try:
        return getter(db(), item_id, actor=actor(), areas=areas())
    except Forbidden as e:
        raise NotFound("not found") from e


def load_form(schema: Schema, names: tuple[str, ...]) -> tuple[dict, dict, dict]:
    """(kept input, loaded data or {}, errors beside fields). Blank fields are left out, as an API client
    would leave them out (a blank required field is "required", not "too short"); the raw input is kept
    to show the form again as typed."""
    kept = {name: request.form.get(name, "") for name in names}
    try:
        data = schema.load({k: v for k, v in kept.items() if v.strip()})
    except ValidationError as e:
        return kept, {}, translate_fields(e.messages)
    return kept, data, {}


def save_form(schema: Schema, names: tuple[str, ...], save: Callable, notice: Callable, back: str):
    """Load the posted form with the API's schema and, when valid, `save(data)` through a service. Returns
    (kept input, errors, None) to show the form again, or (…, {}, a redirect to `back`) after flashing
    `notice(saved)`. A refusal that concerns no field becomes an error page (refusal_fields)."""
    form, data, errors = load_form(schema, names)
    if errors:
        return form, errors, None
    try:
        saved = save(data)
    except AppError as e:
        return form, refusal_fields(e), None
    flash(notice(saved), "success")
    return form, {}, redirect(url_for(back), code=303)


def load_search(schema: Schema, text: str) -> tuple[dict, dict]:
    """(filters, errors) of a list page's search box, loaded with the API's query schema."""
    if not text.strip():
        return {}, {}
    try:
        return schema.load({"q": text}), {}
    except ValidationError as e:
        return {}, translate_fields(e.messages)


def refusal_fields(error: AppError) -> dict[str, str]:
    """A service's refusal beside its field; re-raised (an error page) when it concerns no field."""
    errors = field_of_error(error)
    if errors is None:
        raise error
    return errors


def page_of_request() -> Page:
    """?page=N, 1 when missing or nonsense (a list page never fails on its page number)."""
    number = request.args.get("page", "1")
    number = int(number) if number.isdigit() else 1
    return Page(number=min(max(number, 1), MAX_PAGE), size=PAGE_SIZE)


def page_count(total: int) -> int:
    return (total + PAGE_SIZE - 1) // PAGE_SIZE
