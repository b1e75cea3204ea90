"""Signing in to the pages: the cookie, wrong passwords, throttling, CSRF, sign-out, revocation, the
second factor and the redirect after sign-in (never to another host)."""
import re

import pyotp
import pytest

from sqlalchemy import select

from core.audit import AuditEntry
from core.accounts import SYSTEM, Role, revoke_account
from tests.api.web_helpers import assert_strict_page_headers, csrf_token_of, html_of, sign_in
from tests.factories import WEB_PASSWORD, make_web_user
from web.auth import COOKIE


@pytest.fixture
def regulator(session, areas, now):
    return make_web_user(session, areas, now, Role.REGULATOR, username="futian.reg", area_code="440304",
                         name="福田区监管员")


def _actions(session) -> list[str]:
    session.expire_all()
    return list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)))


def _cookie(response) -> str:
    header = [h for h in response.headers.getlist("Set-Cookie") if h.startswith(COOKIE + "=")]
    assert header, "no session cookie was set"
    return header[0]


def test_signing_in_sets_a_strict_cookie_and_opens_the_regulators_queue(client, regulator):
    response = sign_in(client, "Futian.Reg", WEB_PASSWORD)  # user names are not case-sensitive
    assert response.status_code == 303 and response.headers["Location"] == "/console/"
    cookie = _cookie(response)
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie and "Path=/" in cookie
    token = re.match(rf"{COOKIE}=([^;]+)", cookie).group(1)
    assert token.startswith("gls_") and len(token) > 40
    page = client.get("/account", headers={"Accept-Language": "zh-CN"})
    html = html_of(page)
    assert page.status_code == 200 and "福田区监管员" in html and "futian.reg" in html and "主管部门" in html
    assert 'action="/signout"' in html  # the header's sign-out button
    assert_strict_page_headers(page)


def test_a_demo_instance_on_plain_http_drops_the_secure_flag(app_factory, database_url):
    demo = app_factory(DEMO=True)
    with demo.app_context():
        from core.db import get_session
        from core.clock import utcnow
        make_web_user(get_session(), demo.extensions["areas"], utcnow(), Role.ADMIN, username="demo.admin")
    response = sign_in(demo.test_client(), "demo.admin", WEB_PASSWORD)
    assert response.status_code == 303 and "Secure" not in _cookie(response)


def test_a_wrong_password_keeps_the_user_name_says_what_to_do_and_is_audited(client, session, regulator):
    response = sign_in(client, "futian.reg", "not the password")
    html = html_of(response)
    assert response.status_code == 401 and "用户名或密码不正确" in html
    assert 'value="futian.reg"' in html and "not the password" not in html
    assert COOKIE not in response.headers.get("Set-Cookie", "")
    assert _actions(session)[-1] == "account.sign_in_failed"


def test_an_unknown_user_gets_the_same_answer_as_a_wrong_password(client, regulator):
    unknown, wrong = sign_in(client, "nobody.here", WEB_PASSWORD), sign_in(client, "futian.reg", "nope nope nope")
    assert unknown.status_code == wrong.status_code == 401
    message = re.compile(r'<p class="form-error"[^>]*>(.*?)</p>')
    assert message.search(html_of(unknown)).group(1) == message.search(html_of(wrong)).group(1)


def test_after_five_failures_even_the_right_password_waits(client, regulator):
    for _ in range(5):
        assert sign_in(client, "futian.reg", "wrong password!").status_code == 401
    response = sign_in(client, "futian.reg", WEB_PASSWORD)
    assert response.status_code == 429 and int(response.headers["Retry-After"]) > 0
    assert "分钟后再试" in html_of(response)


def test_a_form_posted_without_its_csrf_token_is_refused_and_changes_nothing(client, session, regulator):
    response = client.post("/signin", data={"username": "futian.reg", "password": WEB_PASSWORD})
    assert response.status_code == 400 and response.mimetype == "text/html"
    assert "页面已过期" in html_of(response) and COOKIE not in response.headers.get("Set-Cookie", "")
    assert "account.signed_in" not in _actions(session)
    # Signed in, a sign-out without the token does not end the session.
    sign_in(client, "futian.reg", WEB_PASSWORD)
    assert client.post("/signout").status_code == 400
    assert client.get("/account").status_code == 200
    forged = client.post("/signout", data={"csrf_token": "forged"})
    assert forged.status_code == 400 and client.get("/account").status_code == 200


def test_signing_out_ends_the_session_on_the_server_not_only_in_the_browser(client, regulator):
    cookie = re.match(rf"{COOKIE}=([^;]+)", _cookie(sign_in(client, "futian.reg", WEB_PASSWORD))).group(1)
    token = csrf_token_of(html_of(client.get("/account")))
    response = client.post("/signout", data={"csrf_token": token})
    assert response.status_code == 303 and response.headers["Location"].startswith("/signin")
    assert f"{COOKIE}=;" in _cookie(response)  # the browser forgets it
    client.set_cookie(COOKIE, cookie)  # an attacker who copied the cookie before
    again = client.get("/account")
    assert again.status_code == 303 and again.headers["Location"].startswith("/signin")


def test_revoking_the_account_ends_its_open_sessions_at_once(client, session, regulator, now):
    sign_in(client, "futian.reg", WEB_PASSWORD)
    assert client.get("/account").status_code == 200
    revoke_account(session, regulator.id, actor=SYSTEM, now=now)
    response = client.get("/account")
    assert response.status_code == 303 and response.headers["Location"].startswith("/signin")


@pytest.mark.parametrize("target, expected", [
    ("/firms/lookup?q=1", "/firms/lookup?q=1"), ("//evil.example/x", "/console/"),
    ("https://evil.example/", "/console/"), ("/\\evil.example", "/console/")])
def test_after_sign_in_the_person_goes_back_only_to_a_page_of_this_site(client, regulator, target, expected):
    response = sign_in(client, "futian.reg", WEB_PASSWORD, next_url=target)
    assert response.status_code == 303 and response.headers["Location"] == expected


def test_the_sign_in_page_speaks_english_when_asked(client):
    html = html_of(client.get("/signin", headers={"Accept-Language": "en"}))
    assert '<html lang="en">' in html and "User name" in html and "Password" in html and "Sign in" in html


# ---- the second factor -------------------------------------------------------------------------------

@pytest.fixture
def two_factor_app(app_factory):
    return app_factory(REQUIRE_2FA_ROLES="regulator,admin")


def _secret_of(html: str) -> str:
    return re.search(r'id="totp-secret">([A-Z2-7 ]+)<', html).group(1).replace(" ", "")


def test_a_role_that_must_use_a_second_factor_enrolls_then_gives_a_code_once(two_factor_app, now):
    with two_factor_app.app_context():
        from core.db import get_session
        make_web_user(get_session(), two_factor_app.extensions["areas"], now, Role.REGULATOR,
                      username="futian.reg", area_code="440304")
    client = two_factor_app.test_client()
    response = sign_in(client, "futian.reg", WEB_PASSWORD)
    assert response.status_code == 303 and response.headers["Location"] == "/signin/code"
    # Not yet through: the account page sends the person back to finish.
    assert client.get("/account").headers["Location"].startswith("/signin")
    page = html_of(client.get("/signin/code"))
    assert 'src="data:image/svg+xml' in page
    secret = _secret_of(page)
    wrong = client.post("/signin/code", data={"csrf_token": csrf_token_of(page), "code": "000000"})
    assert wrong.status_code == 401 and "验证码不正确" in html_of(wrong)
    assert _secret_of(html_of(wrong)) == secret  # a mistyped first code does not lose the QR
    code = pyotp.TOTP(secret).now()
    ok = client.post("/signin/code", data={"csrf_token": csrf_token_of(page), "code": code})
    assert ok.status_code == 303 and ok.headers["Location"] == "/console/"
    assert client.get("/account").status_code == 200
    # A second session: the QR is no longer shown and the code just used is refused (no replay).
    other = two_factor_app.test_client()
    sign_in(other, "futian.reg", WEB_PASSWORD)
    page = html_of(other.get("/signin/code"))
    assert "totp-secret" not in page
    replay = other.post("/signin/code", data={"csrf_token": csrf_token_of(page), "code": code})
    assert replay.status_code == 401
