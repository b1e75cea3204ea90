"""Issue 13 item 11: the print page of a revoked or suspended pass is an HTML page that says, large, that the
pass must not be used, with no QR code and no "valid" wording (it used to be a JSON 404 for a revoked pass and
a printable pass with its QR for a suspended one). Unknown and unissued passes get an HTML 404. Since issue 9
the pages are on the shared layout and in the reader's language (Chinese first, English from the catalog)."""
import re

import pytest

from tests.api.pass_helpers import PLATES, apply, build_world, change, issued
from web.i18n import LOCALE_COOKIE


@pytest.fixture
def world(session, areas, cipher, now):
    return build_world(session, areas, cipher, now)


def page(client, pass_id: str, language: str = "zh") -> tuple[int, str, str]:
    client.set_cookie(LOCALE_COOKIE, language)
    response = client.get(f"/passes/{pass_id}/print")
    return response.status_code, response.mimetype, response.get_data(as_text=True)


def assert_unusable(html: str, qr: str):
    """Nothing on the page can be scanned or read as a valid pass."""
    assert "<svg" not in html and "<img" not in html and "<canvas" not in html
    assert "GL1:" not in html and qr not in html and qr[4:40] not in html
    assert "data:image" not in html and "qr.png" not in html and "qr.svg" not in html
    assert not re.search("valid", html, re.I) and "有效" not in html


def test_a_revoked_pass_prints_a_410_page_saying_revoked_do_not_use_with_no_qr(client, world):
    body = issued(client, world)
    assert change(client, world, body["id"], "revoke").status_code == 200
    status, mimetype, html = page(client, body["id"])
    assert (status, mimetype) == (410, "text/html")
    assert "已吊销" in html and "禁止使用" in html and "已暂停" not in html
    assert re.search(r"<h1[^>]*>.*已吊销", html, re.S)
    assert PLATES[0] in html and body["id"] in html  # so the officer knows which pass it was
    assert_unusable(html, body["qr"])
    # It is posted where anyone may read it: Chinese, then English, whichever language the printer chose.
    for reader in ("zh-CN", "en"):
        status, _, text = page(client, body["id"], reader)
        heading = re.search(r"<h1[^>]*>(.*?)</h1>", text, re.S).group(1)
        assert status == 410 and heading.index("通行证已吊销") < heading.index("Pass revoked")
        assert text.index("禁止使用") < text.index("must not be used") and PLATES[0] in text
        assert_unusable(text, body["qr"])


def test_a_suspended_pass_prints_a_409_page_saying_suspended_with_no_qr_until_reinstated(client, world):
    body = issued(client, world)
    assert change(client, world, body["id"], "suspend").status_code == 200
    status, mimetype, html = page(client, body["id"])
    assert (status, mimetype) == (409, "text/html")
    assert "已暂停" in html and "禁止使用" in html and "已吊销" not in html
    assert_unusable(html, body["qr"])
    status, _, english = page(client, body["id"], "en")
    heading = re.search(r"<h1[^>]*>(.*?)</h1>", english, re.S).group(1)
    assert status == 409 and heading.index("已暂停") < heading.index("Pass suspended")
    assert "must not be used while it is suspended" in english
    assert_unusable(english, body["qr"])
    assert change(client, world, body["id"], "reinstate").status_code == 200
    status, mimetype, html = page(client, body["id"])
    assert (status, mimetype) == (200, "text/html") and "<svg" in html and "已暂停" not in html


def test_the_stopped_page_is_never_cached(client, world):
    body = issued(client, world)
    change(client, world, body["id"], "revoke")
    response = client.get(f"/passes/{body['id']}/print")
    assert response.status_code == 410 and "no-store" in response.headers["Cache-Control"]


@pytest.mark.parametrize("pass_id", ["ZZZZZZZZ", "abc", "x" * 40])
def test_an_unknown_pass_is_an_html_404_page_not_json(client, world, pass_id):
    status, mimetype, html = page(client, pass_id)
    assert (status, mimetype) == (404, "text/html")
    assert "找不到通行证" in html and pass_id in html and "<svg" not in html
    status, _, english = page(client, pass_id, "en")
    assert status == 404 and "No such pass" in english and "找不到通行证" not in english


def test_a_pending_pass_has_an_html_404_print_page(client, world):
    pass_id = apply(client, world)["id"]
    status, mimetype, html = page(client, pass_id)
    assert (status, mimetype) == (404, "text/html") and "找不到通行证" in html and "<svg" not in html
