"""The regulators' pending-pass queue in Debian's headless Chromium (issue 10): a street regulator sees only
its street's queue; a district regulator filters 300 pending passes, approves 250 in one action and rejects
the other 50 with a reason, and the audit holds 300 decisions; a pass revoked in the console is rejected by
the /scan page after its next sync. Screenshots of the queue, a pass and the refusal page (phone and desk,
zh and en)."""
import os
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from checkpoints.models import SiteKind
from checkpoints.sites import create_site
from core.accounts import SYSTEM, Actor, Role
from core.audit import AuditEntry
from passes import services
from passes.models import PassStatus, VehiclePass
from tests.api.console_helpers import insert_pending
from tests.browser.shots import LOCALES, SIZES, layout_problems, screenshot_dir, take_screenshots, watch_errors
from tests.factories import (make_firm, make_person, make_token, make_vehicle, make_web_user, pass_data,
                             record_negative_test)
from tests.browser.test_scanner_page import clock, scan, wait_until

pytestmark = pytest.mark.skipif(not os.path.exists("/usr/bin/chromium"), reason="needs Debian's chromium")
NANYUAN, FUTIAN_OTHER = "440304001", "440304002"


@pytest.fixture
def world(app, session, areas, cipher):
    now = clock()
    firm, _ = make_firm(session, areas, now)
    driver = make_person(session, areas, cipher, now, firm_id=firm.id)
    record_negative_test(session, cipher, now)
    vehicle = make_vehicle(session, areas, now, firm_id=firm.id, plate="粤B30001")
    site = create_site(session, data=dict(name="南园检查站", kind=SiteKind.CHECKPOINT, area_code=NANYUAN,
                                          lat=22.54, lon=114.09), actor=SYSTEM, areas=areas, now=now)
    users = {name: make_web_user(session, areas, now, Role.REGULATOR, username=name, area_code=area, name=name)
             for name, area in (("nanyuan.reg", NANYUAN), ("futian.reg", "440304"))}

    def pending(count, *, scope, hours_ago, prefix):
        return insert_pending(session, firm_id=firm.id, vehicle_id=vehicle.id, plate=vehicle.plate,
                              driver_id=driver.id, count=count, scope=(scope,), prefix=prefix,
                              created_at=now - timedelta(hours=hours_ago))
    # Ids of three letters and five digits: a letter and seven digits would read as a Hong Kong identity
    # number to the log scanner of tests/conftest.py (pass ids appear in the server's access log).
    street = pending(4, scope=NANYUAN, hours_ago=1, prefix="STR")
    old = pending(250, scope=FUTIAN_OTHER, hours_ago=10, prefix="OLD")   # waiting over 2 h
    new = pending(50, scope=FUTIAN_OTHER, hours_ago=1.5, prefix="NEW")  # the rest
    other_vehicle = make_vehicle(session, areas, now, firm_id=firm.id, plate="粤B30002")
    applied = services.apply_for_pass(session, data=pass_data(vehicle_id=other_vehicle.id, driver_ids=[driver.id],
                                                              now=now, scope=(NANYUAN,)),
                                      actor=Actor(None, "firm", Role.FIRM, firm_id=firm.id), areas=areas,
                                      max_days=7, now=now)
    issued = services.approve_pass(session, applied.id, actor=SYSTEM, areas=areas, ring=app.extensions["keyring"],
                                   now=now)
    officer = make_token(session, areas, now, Role.OFFICER, site_id=site.id, name="检查员 王")
    return {"users": users, "street": street, "old": old, "new": new, "issued": issued, "officer": officer}


def _page(browser, server, cookies, *, locale="zh-CN", size=(1280, 900)):
    context = browser.new_context(locale=locale, viewport={"width": size[0], "height": size[1]},
                                  timezone_id="Asia/Shanghai")
    context.set_default_timeout(30_000)
    context.add_cookies(cookies)
    page = context.new_page()
    return context, page, watch_errors(context, page)


def _rows(page) -> list[str]:
    return page.eval_on_selector_all(".queue-row", "rows => rows.map(r => r.id.slice(4))")


def _statuses(app, ids) -> dict[PassStatus, int]:
    with app.extensions["db"].sessionmaker() as s:
        return dict(s.execute(select(VehiclePass.status, func.count()).where(VehiclePass.id.in_(ids))
                              .group_by(VehiclePass.status)).all())


def test_a_street_regulator_sees_only_its_streets_queue(browser, server, world, session_cookie):
    context, page, errors = _page(browser, server, session_cookie(world["users"]["nanyuan.reg"]))
    page.goto(f"{server}/console/")
    assert _rows(page) == world["street"]
    assert page.text_content("#queue-total") == "4"
    assert page.locator("#q-district").count() == 0 and page.locator("#q-street").count() == 0
    assert errors == []
    context.close()


def test_a_district_regulator_approves_250_and_rejects_50_in_two_actions(app, browser, server, world,
                                                                          session_cookie):
    context, page, errors = _page(browser, server, session_cookie(world["users"]["futian.reg"]))
    page.goto(f"{server}/console/")
    page.select_option("#q-street", FUTIAN_OTHER)
    page.click("#apply-filters")
    assert page.text_content("#queue-total") == "300"
    assert _rows(page) == world["old"][:25]  # oldest first
    page.select_option("#q-older_than", "2")
    page.click("#apply-filters")
    assert page.text_content("#queue-total") == "250"
    page.check("#which-all")
    page.click("#bulk-approve")
    page.wait_for_selector(".flash-success")
    assert "250" in page.text_content(".flash-success")
    assert _statuses(app, world["old"]) == {PassStatus.ACTIVE: 250}

    page.select_option("#q-older_than", "")
    page.click("#apply-filters")
    assert page.text_content("#queue-total") == "50"
    page.check("#which-all")
    page.click("#bulk-reject")  # without a reason: told what to do, nothing changes
    assert page.locator("text=不予通过必须填写原因").count() == 1
    assert _statuses(app, world["new"]) == {PassStatus.PENDING: 50}
    page.go_back()
    page.check("#which-all")
    page.fill("#bulk-reason", "车辆信息不全，请补充后重新申请")
    page.click("#bulk-reject")
    page.wait_for_selector(".flash-success")
    assert "50" in page.text_content(".flash-success")
    assert _statuses(app, world["new"]) == {PassStatus.REJECTED: 50}
    with app.extensions["db"].sessionmaker() as s:
        decided = s.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action.in_(("pass.approved", "pass.rejected")), AuditEntry.object_type == "pass",
            AuditEntry.object_id.in_(world["old"] + world["new"])))
    assert decided == 300
    assert [e for e in errors if "status of 422" not in e] == []  # the page that asked for a reason
    context.close()


def test_a_pass_revoked_in_the_console_is_rejected_by_the_scan_page_after_its_next_sync(
        app, browser, server, world, session_cookie):
    issued = world["issued"]
    scanner = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai")
    scanner.set_default_timeout(30_000)
    scan_page = scanner.new_page()
    scan_errors = watch_errors(scanner, scan_page)
    scan_page.goto(f"{server}/scan")
    scan_page.fill("#token", world["officer"])
    scan_page.click("#signin-btn")
    scan_page.wait_for_selector("#scanner:not([hidden])")
    wait_until(scan_page, "() => document.getElementById('last-sync').textContent !== '—'", scan_errors)
    assert scan(scan_page, issued.qr)["verdict"] == "accept"

    context, page, errors = _page(browser, server, session_cookie(world["users"]["futian.reg"]))
    page.goto(f"{server}/console/passes/{issued.id}")
    page.fill("#reason-revoke", "车辆被盗用")
    page.click("#do-revoke")
    page.wait_for_selector(".flash-success")
    assert page.text_content("#pass-status") == "已吊销"
    assert errors == []
    context.close()

    synced = scan_page.evaluate("() => JSON.parse(localStorage.getItem('gl.scan.lastSync'))")
    scan_page.click("#sync-now")
    wait_until(scan_page, f"() => JSON.parse(localStorage.getItem('gl.scan.lastSync')) > {synced}", scan_errors)
    wait_until(scan_page, "() => navigator.serviceWorker.controller !== null", scan_errors)
    scanner.set_offline(True)
    scan_page.wait_for_selector("#net[data-online='false']")
    verdict = scan(scan_page, issued.qr)
    assert (verdict["verdict"], verdict["mode"], verdict["reasons"]) == ("reject", "offline", ["revoked"])
    scanner.close()


def test_screenshots_of_the_queue_a_pass_and_the_refusal_page(app, browser, server, world, session_cookie):
    cookies = session_cookie(world["users"]["futian.reg"])

    def check(shot):
        assert layout_problems(shot.page) == [], shot.path.name
    assert len(take_screenshots(browser, f"{server}/console/", "console-queue", check=check, cookies=cookies)) == 4
    assert len(take_screenshots(browser, f"{server}/console/passes/{world['old'][0]}", "console-pass",
                                check=check, cookies=cookies)) == 4
    # The refusal page: a ticked row that someone else decided meanwhile is refused, nothing changes.
    with app.extensions["db"].sessionmaker() as s:
        services.change_pass_status(s, world["new"][0], "reject", actor=SYSTEM, areas=app.extensions["areas"],
                                    reason="由他人处理", now=clock())
    for language, locale in LOCALES.items():
        for size, (width, height) in SIZES.items():
            context, page, errors = _page(browser, server, cookies, locale=locale, size=(width, height))
            page.goto(f"{server}/console/?older_than=")
            page.check(f"#pick-{world['old'][1]}")
            page.eval_on_selector(f"#pick-{world['old'][2]}", f"box => {{ box.value = '{world['new'][0]}'; }}")
            page.check(f"#pick-{world['old'][2]}")
            page.click("#bulk-approve")
            page.wait_for_selector("#refused")
            assert page.locator(f"#refused-{world['new'][0]}").count() == 1
            assert layout_problems(page) == [], (language, size)
            page.screenshot(path=str(screenshot_dir() / f"console-refused-{language}-{width}x{height}.png"),
                            full_page=True)
            assert [e for e in errors if "409" not in e] == []
            context.close()
    assert _statuses(app, world["old"][:3]) == {PassStatus.PENDING: 3}
