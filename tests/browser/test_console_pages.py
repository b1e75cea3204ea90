"""The console in headless Chromium: a risk level set on the zones page changes a checkpoint scan's verdict,
and a firm suspended from its page (after its preview lists the passes it stops) is refused at the next
scan. Screenshots of the firm queue, the firm page, the suspension preview and the zones tree."""
from datetime import datetime, timedelta, timezone

import pytest

from checkpoints.models import SiteKind
from checkpoints.sites import create_site
from core.accounts import SYSTEM, Actor, Role
from passes import services
from whitelist.models import Category
from tests.api.helpers import uscc
from tests.browser.shots import layout_problems, take_screenshots
from tests.factories import (bearer, make_firm, make_person, make_token, make_vehicle, make_web_user, pass_data,
                             record_negative_test)

SITE_AREA = "440304001"  # 南园街道, Futian
TIMEOUT_MS = 30_000


def clock() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


@pytest.fixture
def world(app, session, areas, cipher):
    """A Futian firm with one issued pass whose driver's negative test is 30 hours old (fresh at a normal
    site, stale where the level is controlled), a checkpoint in Nanyuan with its officer, pending firms,
    and a Futian regulator with a web account."""
    now = clock()
    firm, _ = make_firm(session, areas, now - timedelta(days=2))
    driver = make_person(session, areas, cipher, now, firm_id=firm.id)
    record_negative_test(session, cipher, now, hours_ago=30)
    site = create_site(session, data=dict(name="南园检查站", kind=SiteKind.CHECKPOINT, area_code=SITE_AREA,
                                          lat=22.54, lon=114.09), actor=SYSTEM, areas=areas, now=now)
    officer = make_token(session, areas, now, Role.OFFICER, site_id=site.id, name="检查员 王")
    vehicle = make_vehicle(session, areas, now, firm_id=firm.id)
    applied = services.apply_for_pass(session, data=pass_data(vehicle_id=vehicle.id, driver_ids=[driver.id], now=now,
                                                              scope=(SITE_AREA,)),
                                      actor=Actor(None, "firm", Role.FIRM, firm_id=firm.id), areas=areas, max_days=7,
                                      now=now)
    vpass = services.approve_pass(session, applied.id, actor=SYSTEM, areas=areas, ring=app.extensions["keyring"],
                                  now=now)
    for i, (name, category) in enumerate([("深圳市福田粮油配送有限公司", Category.GRAIN_OIL), ("福田区冷链肉类供应站", Category.MEAT),
                                          ("南园社区药品配送中心", Category.MEDICINE)]):
        make_firm(session, areas, now - timedelta(days=3 - i, hours=i), approved=False, name=name, category=category,
                  uscc=uscc(f"MA5GB0{i:02d}"), area_code=SITE_AREA)
    regulator = make_web_user(session, areas, now, Role.REGULATOR, username="futian.web", area_code="440304",
                              name="福田区监管")
    return {"firm": firm.id, "pass": vpass, "officer": officer, "regulator": regulator}


def _scan(client, world) -> dict:
    response = client.post("/api/v1/scans", json={"qr": world["pass"].qr}, headers=bearer(world["officer"]))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _open(browser, server, cookies):
    context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", viewport={"width": 390, "height": 844})
    context.set_default_timeout(TIMEOUT_MS)
    context.add_cookies(cookies)
    return context, context.new_page()


def test_a_risk_level_set_in_the_console_changes_a_scans_verdict(app, client, browser, server, session_cookie, world):
    assert _scan(client, world)["verdict"] == "accept"  # a 30-hour test is fresh at a normal site
    context, page = _open(browser, server, session_cookie(world["regulator"]))
    try:
        page.goto(f"{server}/console/zones")
        page.click(f"#zone-{SITE_AREA}")
        page.click("#level-choices >> text=管控区")
        assert "影响 1 张有效通行证" in page.inner_text("#effect")
        assert "南园检查站" in page.inner_text("#effect")
        page.fill("#f-reason", "南园街道出现病例")
        page.click("#confirm")
        page.wait_for_selector("#history")
        assert "管控区" in page.inner_text("#own-level")
    finally:
        context.close()
    verdict = _scan(client, world)
    assert verdict["verdict"] == "reject" and "test_stale" in verdict["reasons"]
    take_screenshots(browser, f"{server}/console/zones", "console-zones", cookies=session_cookie(world["regulator"]),
                     check=lambda shot: _no_layout_problems(shot))
    take_screenshots(browser, f"{server}/console/zones/{SITE_AREA}?level=sealed", "console-zone-preview",
                     cookies=session_cookie(world["regulator"]), check=lambda shot: _no_layout_problems(shot))


def test_a_firm_suspended_from_its_page_after_the_preview_is_refused_at_the_next_scan(
        app, client, browser, server, session_cookie, world):
    assert _scan(client, world)["verdict"] == "accept"
    cookies = session_cookie(world["regulator"])
    take_screenshots(browser, f"{server}/console/firms", "console-firms", cookies=cookies,
                     check=lambda shot: _no_layout_problems(shot))
    take_screenshots(browser, f"{server}/console/firms/{world['firm']}", "console-firm", cookies=cookies,
                     check=lambda shot: _no_layout_problems(shot))
    take_screenshots(browser, f"{server}/console/firms/{world['firm']}/decision?action=suspend",
                     "console-firm-suspend-preview", cookies=cookies, check=lambda shot: _no_layout_problems(shot))
    context, page = _open(browser, server, cookies)
    try:
        page.goto(f"{server}/console/firms?status=approved")
        page.click("#firms a")
        page.click("#firm-actions >> text=暂停企业")
        assert "此操作将影响 1 张通行证" in page.inner_text("#effect")
        assert world["pass"].id in page.inner_text("#affected")
        page.click("#confirm")  # no reason yet: the page says so and nothing changes
        assert page.inner_text("#f-reason-error")
        assert _scan(client, world)["verdict"] == "accept"
        page.fill("#f-reason", "冷链温度记录缺失")
        page.click("#confirm")
        page.wait_for_selector("#firm-actions >> text=恢复企业")
    finally:
        context.close()
    verdict = _scan(client, world)
    assert verdict["verdict"] == "reject" and "suspended" in verdict["reasons"]


def _no_layout_problems(shot):
    assert layout_problems(shot.page) == [], (shot.path.name, layout_problems(shot.page))
