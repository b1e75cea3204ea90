"""Small helpers for thin routes: the app-wide reference objects and paging."""
from flask import current_app

from core.areas import AreaTree
from core.db import Page
from core.errors import Unprocessable
from core.pii import PersonalDataCipher


def area_tree() -> AreaTree:
    return current_app.extensions["areas"]


def pii_cipher() -> PersonalDataCipher:
    return current_app.extensions["pii"]


MAX_PAGE = 1_000_000  # beyond this the offset could overflow the database's 64-bit integers


def page_of(pagination_parameters) -> Page:
    """smorest's pagination parameters as the services' Page value. Raises Unprocessable on a page
    number no list can reach."""
    if pagination_parameters.page > MAX_PAGE:
        raise Unprocessable(fields={"page": [f"must be at most {MAX_PAGE}"]})
    return Page(pagination_parameters.page, pagination_parameters.page_size)
