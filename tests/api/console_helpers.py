"""Helpers for the console page tests: a regulator, admin or auditor signed in on the test client."""
from core.accounts import Role
from tests.api.web_helpers import csrf_token_of, html_of, sign_in
from tests.factories import WEB_PASSWORD, make_web_user


def console_user(client, session, areas, now, role=Role.REGULATOR, *, area_code="440304", username=None):
    """A web account of `role` (a regulator of `area_code`), signed in on `client`."""
    username = username or f"{role.value}.{area_code or 'all'}"
    account = make_web_user(session, areas, now, role, username=username, name=f"{role.value} {area_code}",
                            area_code=area_code if role is Role.REGULATOR else None)
    assert sign_in(client, username, WEB_PASSWORD).status_code == 303
    return account


def page(client, url):
    response = client.get(url, headers={"Accept-Language": "zh-CN"})
    return response, html_of(response)


def post_with_token(client, url: str, data: dict, *, token_page: str):
    """POST as a browser does, with the CSRF token of a console page this user may open."""
    token = csrf_token_of(html_of(client.get(token_page)))
    return client.post(url, data={"csrf_token": token, **data}, headers={"Accept-Language": "zh-CN"})
