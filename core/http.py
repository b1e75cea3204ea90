"""Small helpers for thin routes: the app-wide reference objects and paging."""
from flask import current_app

from core.areas import AreaTree
from core.db import Page
from core.pii import PersonalDataCipher


def area_tree() -> AreaTree:
    return current_app.extensions["areas"]


def pii_cipher() -> PersonalDataCipher:
    return current_app.extensions["pii"]


def page_of(pagination_parameters) -> Page:
    """smorest's pagination parameters as the services' Page value."""
    return Page(pagination_parameters.page, pagination_parameters.page_size)
