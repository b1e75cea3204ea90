"""The web shell: the landing page, the language switch (cookie, Accept-Language, no open redirect), the
public firm lookup page and the security headers every HTML page gets."""
import re
from html import unescape

import pytest
from sqlalchemy import func, select

from core.accounts import SYSTEM
from core.audit import AuditEntry
from tests.api.helpers import uscc
from tests.api.web_helpers import assert_strict_page_headers, csp_of, html_of
from tests.factories import make_firm
from web import shell
from web.i18n import LOCALE_COOKIE
from whitelist.models import Category
from whitelist.services import change_firm_status


# ---- landing page and languages ----------------------------------------------------------------------

def test_the_landing_page_is_chinese_by_default_with_big_links_to_every_entrance(client):
    response = client.get("/")
    assert response.status_code == 200
    html = html_of(response)
    assert '<html lang="zh-CN">' in html and "保供车辆，有序通行" in html
    hrefs = re.findall(r'class="action[^"]*" href="([^"]+)"', html)
    assert hrefs == ["/signin", "/scan", "/firms/lookup", "/api/v1/docs"]
    assert 'href="/lang/en?next=/"' in html and 'href="/lang/zh?next=/"' in html
    assert_strict_page_headers(response)
    assert csp_of(response)["script-src"] == ["'self'"] and csp_of(response)["style-src"] == ["'self'"]


@pytest.mark.parametrize("accept, lang, heading", [
    ("en-US,en;q=0.9", "en", "Essential supplies keep moving"),
    ("zh-CN,zh;q=0.9,en;q=0.8", "zh-CN", "保供车辆，有序通行"),
    ("fr-FR, en;q=0.5", "en", "Essential supplies keep moving"),
    ("fr-FR, de", "zh-CN", "保供车辆，有序通行"),
    ("", "zh-CN", "保供车辆，有序通行"),
])
def test_without_a_cookie_the_browser_language_decides_and_chinese_is_the_fallback(client, accept, lang, heading):
    html = html_of(client.get("/", headers={"Accept-Language": accept}))
    assert f'<html lang="{lang}">' in html and heading in html


def test_the_language_switch_sets_a_cookie_that_outranks_the_browser_and_goes_back(client):
    response = client.get("/lang/en", query_string={"next": "/firms/lookup?q=蔬菜"})
    assert response.status_code == 303 and response.headers["Location"] == "/firms/lookup?q=%E8%94%AC%E8%8F%9C"
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith(f"{LOCALE_COOKIE}=en;") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    html = html_of(client.get("/", headers={"Accept-Language": "zh-CN"}))
    assert '<html lang="en">' in html and "Essential supplies keep moving" in html
    assert 'aria-current="true">English</a>' in html

    back = client.get("/lang/zh", query_string={"next": "/"})
    assert back.status_code == 303 and back.headers["Location"] == "/"
    assert "保供车辆，有序通行" in html_of(client.get("/", headers={"Accept-Language": "en"}))


@pytest.mark.parametrize("target", [
    "//evil.example/", "https://evil.example/", "http:/evil.example", "/\\evil.example", "\\\\evil.example",
    "javascript:alert(1)", "/%0d%0aSet-Cookie:x=1" .replace("%0d%0a", "\r\n"), "/\tevil", " /firms/lookup",
    "", "evil.example",
])
def test_the_language_switch_never_redirects_off_the_site(client, target):
    response = client.get("/lang/en", query_string={"next": target})
    assert response.status_code == 303 and response.headers["Location"] == "/"


def test_an_unknown_language_is_a_404_and_sets_no_cookie(client):
    response = client.get("/lang/fr", query_string={"next": "/"})
    assert response.status_code == 404 and "Set-Cookie" not in response.headers
    assert '<html lang="zh-CN">' in html_of(client.get("/"))


def test_a_tampered_language_cookie_is_ignored(client):
    client.set_cookie(LOCALE_COOKIE, "<script>")
    html = html_of(client.get("/", headers={"Accept-Language": "en"}))
    assert '<html lang="en">' in html and "<script>" not in html


# ---- firm lookup ----------------------------------------------------------------------------------------

@pytest.fixture
def listed(session, areas, now):
    """Three approved firms (Futian, a Futian street, Nanshan), a pending and a suspended one."""
    made = {}
    for key, org, name, area, category in [
            ("veg", "MA5G0000", "深圳市海吉星蔬菜配送有限公司", "440304", Category.VEGETABLES),
            ("meat", "MA5G0001", "福田肉类供应链有限公司", "440304004", Category.MEAT),
            ("south", "MA5G0003", "南山蔬菜批发有限公司", "440305", Category.VEGETABLES)]:
        made[key], _ = make_firm(session, areas, now, uscc=uscc(org), name=name, area_code=area, category=category)
    made["pending"], _ = make_firm(session, areas, now, approved=False, uscc=uscc("MA5G0004"), name="待审蔬菜有限公司")
    made["suspended"], _ = make_firm(session, areas, now, uscc=uscc("MA5G0005"), name="停业蔬菜有限公司")
    change_firm_status(session, made["suspended"].id, "suspend", actor=SYSTEM, areas=areas, now=now)
    return made


def names_listed(html: str) -> list[str]:
    return [unescape(n) for n in re.findall(r'<p class="result-name">(.*?)</p>', html)]


def audit_count(session) -> int:
    return session.scalar(select(func.count()).select_from(AuditEntry))


def test_the_lookup_lists_approved_firms_only_without_contact_data(client, listed, session):
    before = audit_count(session)
    response = client.get("/firms/lookup")
    assert response.status_code == 200
    html = html_of(response)
    assert names_listed(html) == sorted(["深圳市海吉星蔬菜配送有限公司", "福田肉类供应链有限公司", "南山蔬菜批发有限公司"])
    assert "共 3 家企业" in html and "待审" not in html and "停业" not in html
    assert "13800138000" not in html and "陈经理" not in html and "福华路" not in html
    assert uscc("MA5G0001") in html and "福田街道" in html and "肉类" in html
    assert_strict_page_headers(response)
    session.expire_all()
    assert audit_count(session) == before  # a public read writes nothing


def test_the_lookup_finds_by_name_credit_code_and_district_including_its_streets(client, listed):
    assert names_listed(html_of(client.get("/firms/lookup?q=蔬菜"))) == ["南山蔬菜批发有限公司", "深圳市海吉星蔬菜配送有限公司"]
    by_code = html_of(client.get("/firms/lookup", query_string={"q": " " + uscc("MA5G0001").lower() + " "}))
    assert names_listed(by_code) == ["福田肉类供应链有限公司"]
    futian = html_of(client.get("/firms/lookup?area=440304"))
    assert names_listed(futian) == ["深圳市海吉星蔬菜配送有限公司", "福田肉类供应链有限公司"]
    assert '<option value="440304" selected>福田区</option>' in futian
    none = html_of(client.get("/firms/lookup?q=蔬菜&area=440303"))
    assert names_listed(none) == [] and "没有找到符合条件的企业。" in none


def test_the_lookup_in_english_names_areas_and_categories_in_english(client, listed):
    client.set_cookie(LOCALE_COOKIE, "en")
    html = html_of(client.get("/firms/lookup?area=440304"))
    assert "Firms found: 2" in html and "Futian Subdistrict" in html and "Meat" in html
    assert '<option value="440304" selected>Futian District</option>' in html
    assert "<dd>肉类</dd>" not in html and "共 2 家企业" not in html


@pytest.mark.parametrize("query, field, message", [
    ({"q": "蔬" * 101}, "q", "最多 100 个字符。"),
    ({"area": "999999"}, "area", "请从列表中选择一个区。"),
    ({"page": "abc"}, None, "页码须为正整数。"),
    ({"page": "0"}, None, "页码须为正整数。"),
])
def test_bad_lookup_input_gets_a_422_page_with_the_message_and_the_input_kept(client, listed, query, field, message):
    response = client.get("/firms/lookup", query_string=query)
    assert response.status_code == 422
    html = html_of(response)
    assert message in html and names_listed(html) == [] and "共 " not in html
    if field:
        assert f'<p class="field-error" id="{field}-error" role="alert">{message}</p>' in html
        assert f'id="{field}"' in html and 'aria-invalid="true"' in html
    if field == "q":
        assert f'value="{"蔬" * 101}"' in html


def test_bad_lookup_input_is_answered_in_english_too(client):
    client.set_cookie(LOCALE_COOKIE, "en")
    html = html_of(client.get("/firms/lookup?area=nowhere"))
    assert "Choose a district from the list." in html


def test_hostile_firm_names_are_shown_inert(client, session, areas, now):
    hostile = '"><img src=x onerror=alert(1)><script>alert(2)</script>'
    make_firm(session, areas, now, uscc=uscc("MA5G0006"), name=hostile[:200])
    html = html_of(client.get("/firms/lookup", query_string={"q": '"><img'}))
    assert "<script>alert(2)" not in html and "<img src=x" not in html
    assert names_listed(html) == [hostile]
    echoed = html_of(client.get("/firms/lookup", query_string={"q": "<script>alert(3)</script>"}))
    assert "<script>alert(3)" not in echoed and "&lt;script&gt;alert(3)" in echoed


def test_the_lookup_pages_through_results(client, listed, monkeypatch):
    monkeypatch.setattr(shell, "LOOKUP_PAGE_SIZE", 2)
    first = html_of(client.get("/firms/lookup"))
    assert names_listed(first) == ["南山蔬菜批发有限公司", "深圳市海吉星蔬菜配送有限公司"]
    assert "第 1 / 2 页" in first and 'rel="next" href="/firms/lookup?page=2"' in first and 'rel="prev"' not in first
    second = html_of(client.get("/firms/lookup?page=2"))
    assert names_listed(second) == ["福田肉类供应链有限公司"] and 'rel="prev" href="/firms/lookup?page=1"' in second


# ---- headers on every page ---------------------------------------------

def test_pages_that_set_their_own_policy_keep_it(client):
    scan = client.get("/scan")
    assert "media-src 'self' blob:" in scan.headers["Content-Security-Policy"]
    assert scan.headers["X-Content-Type-Options"] == "nosniff"


def test_a_print_page_gets_the_strict_policy_and_no_inline_style(client, app):
    """The print pages moved onto the layout: their look is in shell.css, so nothing inline is allowed."""
    response = client.get("/passes/ZZZZZZZZ/print")
    assert response.status_code == 404
    html = html_of(response)
    assert "<style" not in html and " style=" not in html
    assert csp_of(response)["style-src"] == ["'self'"] and csp_of(response)["script-src"] == ["'self'"]
    assert_strict_page_headers(response)


def test_json_answers_are_not_given_a_page_policy(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200 and "Content-Security-Policy" not in response.headers
    assert response.headers["X-Content-Type-Options"] == "nosniff"
