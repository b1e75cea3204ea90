"""The scanner, the yard board and the windscreen print page on the shared layout, in Debian's headless Chromium
at phone and desk size, in Chinese and English: each reads in the page's language (words from the catalog,
the scripts' included), fits the screen with fingertip-sized controls, breaks no CSP rule, and leaves
screenshots for a reviewer. The print page prints on one A4 sheet with a QR that decodes back to the pass."""
import os
import re
import subprocess

import pytest

from core.accounts import SYSTEM, Role
from passes import services
from tests.api.logistics_helpers import build_relay
from tests.browser.shots import layout_problems, screenshot_dir, take_screenshots, watch_errors
from tests.browser.test_scanner_page import PLATES, clock, world  # noqa: F401 -- fixture
from tests.factories import make_token

zxingcpp = pytest.importorskip("zxingcpp")
Image = pytest.importorskip("PIL.Image")
pytestmark = pytest.mark.skipif(not os.path.exists("/usr/bin/chromium"),
                                reason="needs Debian's chromium (apt-get install chromium)")
WORDS = {  # what each language must show, from the catalog
    "zh": {"title": "通行证查验", "reject": "拒绝", "revoked": "通行证已吊销", "online": "在线核验",
           "yard": "接驳场工作台", "booked": "已预约", "pass": "保供车辆通行证", "stopped": "通行证已吊销"},
    "en": {"title": "Pass scanner", "reject": "REJECT", "revoked": "Pass revoked", "online": "Checked online",
           "yard": "Yard station", "booked": "Booked", "pass": "Essential-supply vehicle pass",
           "stopped": "Pass revoked"},
}


def assert_fits(shot):
    assert layout_problems(shot.page) == [], shot.path.name


def test_the_scanner_signed_out_and_showing_a_verdict_in_both_languages(app, session, server, browser, world):  # noqa: F811
    services.change_pass_status(session, world["revoked"]["id"], "revoke", actor=SYSTEM,
                                areas=app.extensions["areas"], reason="吊销 test", now=clock())

    def signed_out(shot):
        assert_fits(shot)
        page, words = shot.page, WORDS[shot.language]
        assert page.text_content("h1") == words["title"] and page.is_visible("#signin-form")
        assert page.get_attribute(".lang a[aria-current]", "lang") == ("zh-CN" if shot.language == "zh" else "en")
    take_screenshots(browser, f"{server}/scan", "scan-signed-out", check=signed_out)

    def verdict(shot):
        page, words = shot.page, WORDS[shot.language]
        page.fill("#token", world["officer"])
        page.click("#signin-btn")
        page.wait_for_selector("#scanner:not([hidden])")
        page.wait_for_function("() => document.getElementById('last-sync').textContent !== '—'")
        page.fill("#qr", world["revoked"]["qr"])
        page.press("#qr", "Enter")
        page.wait_for_selector("#verdict[data-verdict='reject']:not([hidden])")
        assert page.text_content("#verdict-word") == words["reject"]
        assert page.text_content("#verdict-mode") == words["online"]
        assert page.text_content("#reasons") == words["revoked"] and page.text_content("#plate-big") == PLATES[1]
        assert page.text_content("#site-name") == "南园检查站" and page.is_visible("#sign-out")
        page.locator("#verdict").scroll_into_view_if_needed()
        assert_fits(shot)
    take_screenshots(browser, f"{server}/scan", "scan-verdict", check=verdict)


def test_the_scanner_offline_keeps_the_language_last_chosen_and_says_why_it_cannot_switch(server, browser, world):  # noqa: F811
    context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
    page = context.new_page()
    errors = watch_errors(context, page)
    page.goto(f"{server}/scan")
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")  # the Chinese page is cached
    page.click(".lang a[lang='en']")  # the layout's switch: a cookie, then back to /scan, cached anew
    page.wait_for_selector("text=Officer sign-in")
    page.wait_for_load_state("networkidle")
    context.set_offline(True)
    assert page.reload().from_service_worker
    assert page.text_content("h1") == "Pass scanner" and page.get_attribute("html", "lang") == "en"
    page.click(".lang a[lang='zh-CN']")
    assert page.text_content("#scan-note").startswith("Switching the language needs the network")
    assert page.url.endswith("/scan")
    context.close()
    assert errors == []


def test_the_yard_board_in_both_languages(app, session, areas, cipher, server, browser):
    relay = build_relay(session, areas, cipher, app.extensions["keyring"], clock())
    waiting = relay.book(clock())
    token = make_token(session, areas, clock(), Role.OFFICER, site_id=relay.ids["yard"], name="场站检查员 王")

    def check(shot):
        page, words = shot.page, WORDS[shot.language]
        page.evaluate("t => localStorage.setItem('gl.scan.token', t)", token)
        page.reload()
        page.wait_for_function("() => document.getElementById('yard-name').textContent !== ''")
        assert page.text_content("h1").startswith(words["yard"])
        cells = page.eval_on_selector_all("#waiting tr", "rows => rows.slice(1).map(r => [...r.cells].map(c => c.textContent))")
        assert [[row[0], row[5]] for row in cells] == [[f"#{waiting.id}", words["booked"]]]
        assert_fits(shot)
    take_screenshots(browser, f"{server}/yards/{relay.ids['yard']}", "yard-board", check=check)


def _pdf_pages_and_qr(pdf: bytes, expected_qr: str, tmp_path) -> tuple[int, float]:
    """(pages, QR width in mm) of a printed page: poppler renders page 1 at 150 dpi, zxing-cpp reads the QR."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    source = tmp_path / "print.pdf"
    source.write_bytes(pdf)
    info = subprocess.run(["pdfinfo", str(source)], capture_output=True, text=True, check=True).stdout
    pages = int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))
    assert re.search(r"^Page size:.*pts \(A4\)$", info, re.M), info
    subprocess.run(["pdftoppm", "-r", "150", "-png", "-f", "1", "-l", "1", str(source), str(tmp_path / "p")],
                   check=True)
    found = zxingcpp.read_barcodes(Image.open(next(tmp_path.glob("p*.png"))), formats=zxingcpp.BarcodeFormat.QRCode)
    assert [b.text for b in found] == [expected_qr]
    position = found[0].position
    width_px = ((position.top_right.x - position.top_left.x) ** 2 + (position.top_right.y - position.top_left.y) ** 2) ** .5
    return pages, width_px / 150 * 25.4


def test_the_windscreen_print_page_on_screen_and_on_one_a4_sheet(server, browser, world, tmp_path):  # noqa: F811
    url = f"{server}/passes/{world['valid']['id']}/print"

    def check(shot):
        page, words = shot.page, WORDS[shot.language]
        # Posted on the windscreen: Chinese first, English beside it, whoever printed it.
        assert page.text_content("h1") == "保供车辆通行证 Essential-supply vehicle pass"
        assert page.text_content(".ws-plate") == PLATES[0]
        box = page.locator(".ws-qr svg").bounding_box()
        assert box["width"] >= 300 and abs(box["width"] - box["height"]) < 1  # big and square on screen
        assert_fits(shot)
    take_screenshots(browser, url, "print-pass", check=check)

    if not os.path.exists("/usr/bin/pdftoppm"):
        pytest.skip("needs poppler-utils for the printed sheet")
    for language, locale in (("zh", "zh-CN"), ("en", "en-US")):
        context = browser.new_context(locale=locale)
        page = context.new_page()
        page.goto(url)
        pdf = page.pdf(prefer_css_page_size=True, print_background=True)
        context.close()
        (screenshot_dir() / f"print-pass-{language}.pdf").write_bytes(pdf)
        pages, qr_mm = _pdf_pages_and_qr(pdf, world["valid"]["qr"], tmp_path / language)
        assert pages == 1, language
        # The symbol without its quiet zone (the decoder's corners): at least the 60 mm of the PDF sheets.
        assert qr_mm >= 90, f"{language}: QR {qr_mm:.0f} mm"


def test_the_stopped_print_page_in_both_languages(app, session, server, browser, world):  # noqa: F811
    services.change_pass_status(session, world["revoked"]["id"], "revoke", actor=SYSTEM,
                                areas=app.extensions["areas"], reason="吊销 test", now=clock())

    def check(shot):
        assert shot.page.text_content("h1") == "通行证已吊销 Pass revoked"
        assert shot.page.locator("svg").count() == 0
        assert_fits(shot)
    take_screenshots(browser, f"{server}/passes/{world['revoked']['id']}/print", "print-stopped", check=check,
                     status=410)
