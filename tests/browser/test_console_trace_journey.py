"""The console's reading pages in Debian's headless Chromium: a regulator traces a driver's scans by the full
identity number (never shown back, never in the address bar), downloads the CSV, and runs the audit chain
check; the alerts, tracing and audit pages fit a phone and a desk in zh and en (screenshots)."""
import csv
import io

import pytest

from core.accounts import SYSTEM, Role
from core.db import transaction
from checkpoints.alerts import raise_alert
from checkpoints.models import AlertKind
from tests.api.checkpoint_helpers import DRIVER_IDS
from tests.api.console_reading_helpers import FORMULAS, HOSTILE_SITE, scanned_world
from tests.browser.shots import LOCALES, SIZES, layout_problems, screenshot_dir, take_screenshots, watch_errors
from tests.factories import make_web_user


@pytest.fixture
def regulator(app, client, session, areas, cipher, now):
    """The city regulator, the scanned world and two open alerts."""
    world = scanned_world(app, client, session, areas, cipher, now)
    with transaction(session):
        raise_alert(session, AlertKind.CLONE_SUSPECTED, area_code="440304001", subject_type="pass",
                    subject_id=world["first"].id, details={"sites": list(world["post"].site_ids.values())},
                    actor=SYSTEM, now=now)
        raise_alert(session, AlertKind.SEAL_MISMATCH, area_code="440304", subject_type="handover", subject_id="3",
                    details={"expected": ["HK2026001", "HK2026002"], "seen": ["HK2026001", "HK2026009"]},
                    actor=SYSTEM, now=now)
    account = make_web_user(session, areas, now, Role.REGULATOR, username="city.regulator", name="市监管 王科长",
                            area_code="440300")
    return {"world": world, "account": account}


def search_driver(page, server):
    page.goto(f"{server}/console/trace")
    page.fill("#f-id_number", DRIVER_IDS[0])
    page.click("#search-scans")
    page.wait_for_selector("#result-count")


def test_a_regulator_traces_a_driver_downloads_the_csv_and_checks_the_chain(server, browser, session_cookie, regulator):
    context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844}, accept_downloads=True,
                                  timezone_id="Asia/Shanghai")
    context.add_cookies(session_cookie(regulator["account"]))
    page = context.new_page()
    errors = watch_errors(context, page)
    search_driver(page, server)
    assert page.text_content("#result-count").strip() == "共 3 条扫码记录"
    assert page.locator(".trace-results > li").count() == 3
    assert DRIVER_IDS[0] not in page.content() and DRIVER_IDS[0] not in page.url
    assert page.input_value("#f-id_number") == ""
    with page.expect_download() as download:
        page.click("#export-csv")
    text = open(download.value.path(), encoding="utf-8-sig").read()
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][0] == "扫码时间（北京时间）" and len(rows) == 4
    assert "'" + HOSTILE_SITE in [c for r in rows for c in r]
    assert not [c for r in rows for c in r if c.startswith(FORMULAS)] and DRIVER_IDS[0] not in text
    page.goto(f"{server}/console/audit/chain")
    page.click("#run-check")
    page.wait_for_selector("#chain-result")
    assert "审计链完好" in page.text_content("#chain-result")
    assert errors == []
    context.close()


def _shoot_after(browser, cookies, name, action):
    """Like take_screenshots, for a page reached by a form (a POST): `action(page)` gets there."""
    for language in LOCALES:
        for size, (width, height) in SIZES.items():
            context = browser.new_context(locale=LOCALES[language], viewport={"width": width, "height": height},
                                          timezone_id="Asia/Shanghai")
            context.add_cookies(cookies)
            try:
                page = context.new_page()
                errors = watch_errors(context, page)
                action(page)
                assert layout_problems(page) == [], (name, language, size)
                page.screenshot(path=str(screenshot_dir() / f"{name}-{language}-{width}x{height}.png"), full_page=True)
                assert errors == [], (name, language, size, errors)
            finally:
                context.close()


def test_the_reading_pages_fit_a_phone_and_a_desk(server, browser, session_cookie, regulator):
    cookies = session_cookie(regulator["account"])

    def fits(shot):
        assert layout_problems(shot.page) == [], (shot.language, shot.size)
    for path, name in (("/console/alerts", "console-alerts"), ("/console/trace/handovers", "console-trace-handovers"),
                       (f"/console/audit/pass/{regulator['world']['first'].id}", "console-audit-trail")):
        take_screenshots(browser, f"{server}{path}", name, cookies=cookies, check=fits)
    _shoot_after(browser, cookies, "console-trace-driver", lambda page: search_driver(page, server))

    def chain(page):
        page.goto(f"{server}/console/audit/chain")
        page.click("#run-check")
        page.wait_for_selector("#chain-result")
    _shoot_after(browser, cookies, "console-audit-chain", chain)
