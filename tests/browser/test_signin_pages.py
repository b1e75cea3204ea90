"""Signing in through the real form in Debian's headless Chromium: the cookie works in a browser, the
header shows who is signed in, signing out ends it; the pages fit a phone and a desk in zh and en."""
import re

import pytest

from core.accounts import Role
from tests.browser.shots import layout_problems, take_screenshots
from tests.factories import WEB_PASSWORD, make_web_user


@pytest.fixture
def regulator(session, areas, now):
    return make_web_user(session, areas, now, Role.REGULATOR, username="futian.reg", area_code="440304",
                         name="福田区监管员")


def test_a_person_signs_in_sees_their_name_and_signs_out(server, browser, regulator):
    context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(f"{server}/")
    page.click("text=企业登录")
    page.fill("#f-username", "futian.reg")
    page.fill("#f-password", "wrong password")
    page.click("button[type=submit]")
    assert "用户名或密码不正确" in page.text_content("#signin-error")
    assert page.input_value("#f-username") == "futian.reg" and page.input_value("#f-password") == ""
    page.fill("#f-password", WEB_PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r"/console/$"))  # a regulator lands on its queue
    assert page.text_content(".user-name") == "福田区监管员"
    cookie = [c for c in context.cookies() if c["name"] == "greenlane_session"][0]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    assert page.evaluate("document.cookie").find("greenlane_session") == -1  # out of scripts' reach
    page.click("header button[type=submit]")  # 退出
    page.wait_for_url(re.compile(r"/signin\?signed_out=1$"))
    assert "您已退出" in page.text_content(".notice")
    page.goto(f"{server}/account")
    assert "/signin" in page.url
    context.close()


def test_the_sign_in_and_account_pages_fit_a_phone_and_a_desk(server, browser, regulator, session_cookie):
    def check(shot):
        assert layout_problems(shot.page) == [], shot.path.name
    assert len(take_screenshots(browser, f"{server}/signin", "signin", check=check)) == 4
    assert len(take_screenshots(browser, f"{server}/account", "account", check=check,
                                cookies=session_cookie(regulator))) == 4
