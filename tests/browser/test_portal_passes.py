"""The portal's pass pages in Debian's headless Chromium: a dispatcher applies for a pass with real clicks (zh),
and the list (several statuses, QR codes), one pass, the form with errors and the fleet errors table fit
a phone and a desk in zh and en."""
import re

import pytest

from core.accounts import FirmRole, Role
from tests.api.pass_helpers import apply, build_world, change, issued
from tests.browser.shots import LOCALES, SIZES, layout_problems, screenshot_dir, take_screenshots, watch_errors
from tests.factories import make_web_user

HOSTILE_REASON = '"><img src=x onerror=alert(1)><script>alert(1)</script>\u202Eevil ' + "很长的原因" * 60


@pytest.fixture
def world(session, areas, cipher, now):
    return build_world(session, areas, cipher, now)


@pytest.fixture
def manager(session, areas, now, world):
    return make_web_user(session, areas, now, Role.FIRM, username="chen.manager", firm_id=world.firm_id,
                         firm_role=FirmRole.MANAGER, name="陈经理")


def _fits(shot):
    assert layout_problems(shot.page) == [], shot.path.name


def test_a_dispatcher_applies_for_a_pass_with_clicks_and_sees_it_pending(server, browser, world, manager,
                                                                         session_cookie):
    context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844}, timezone_id="Asia/Shanghai")
    context.add_cookies(session_cookie(manager))
    page = context.new_page()
    errors = watch_errors(context, page)
    page.goto(f"{server}/portal/passes")
    page.click("#apply-one")
    page.wait_for_url(re.compile(r"/portal/passes/new$"))
    page.select_option("#f-vehicle_id", label="粤B12345")
    page.click(f"#f-driver-{world.driver_id}")
    page.select_option("#f-category", value="vegetables")
    page.click("#f-scope details.district:has(#f-scope-440304) > summary")
    page.click("label[for=f-scope-440304001]")
    page.click("#apply-submit")                                       # purpose left empty
    assert page.text_content("#f-purpose-error").strip() == "必填。"
    assert page.is_checked("#f-scope-440304001") and page.is_checked(f"#f-driver-{world.driver_id}")
    page.fill("#f-purpose", "蔬菜配送")
    page.click("#apply-submit")
    page.wait_for_url(re.compile(r"/portal/passes/[0-9A-Z]{8}$"))
    assert page.text_content("#pass-status").strip() == "待审批"
    assert "等待主管部门审批" in page.text_content(".flashes")
    pass_id = page.text_content("#pass-id").strip()
    page.click("text=← 返回通行证列表")
    assert page.is_visible(f"#pass-{pass_id}")
    assert [e for e in errors if "status of 422" not in e] == []  # the refused first try is a 422
    context.close()


def test_the_pass_pages_fit_a_phone_and_a_desk_with_statuses_qr_and_errors(server, browser, client, world, manager,
                                                                           session_cookie):
    pending = apply(client, world, vehicle=0)
    active = issued(client, world, vehicle=1)
    issued(client, world, vehicle=2)
    rejected = apply(client, world, vehicle=3)
    change(client, world, rejected["id"], "reject", who="city", reason=HOSTILE_REASON[:500])
    cookies = session_cookie(manager)

    def list_check(shot):
        _fits(shot)
        qr = shot.page.locator(f"#pass-{active['id']} img.pass-qr")
        assert qr.evaluate("img => img.complete && img.naturalWidth > 0")
        assert shot.page.locator("img[src='x']").count() == 0       # the reason stayed text
        assert shot.page.locator(f"#pass-{pending['id']} .status").text_content().strip() in ("待审批", "Pending")

    assert len(take_screenshots(browser, f"{server}/portal/passes", "portal-passes", check=list_check,
                                cookies=cookies)) == 4
    assert len(take_screenshots(browser, f"{server}/portal/passes/{active['id']}", "portal-pass-detail",
                                check=_fits, cookies=cookies)) == 4
    assert len(take_screenshots(browser, f"{server}/portal/passes/{rejected['id']}", "portal-pass-rejected",
                                check=_fits, cookies=cookies)) == 4

    bad_csv = ("plate,driver_id_numbers,category,scope,valid_from,valid_until,purpose\n"
               "粤B00000,440304200001010009,weapons,440304001,tomorrow,2026-03-16T20:00:00+08:00,配送\n").encode()
    for language, locale in LOCALES.items():
        for size, (width, height) in SIZES.items():
            context = browser.new_context(locale=locale, viewport={"width": width, "height": height},
                                          timezone_id="Asia/Shanghai")
            context.add_cookies(cookies)
            page = context.new_page()
            errors = watch_errors(context, page)
            page.goto(f"{server}/portal/passes/new")
            with page.expect_navigation():                            # loaded, stylesheet too, before measuring
                page.click("#apply-submit")                           # nothing chosen
            assert page.locator(".field-error").count() >= 4
            assert layout_problems(page) == []
            page.screenshot(path=str(screenshot_dir() / f"portal-pass-new-errors-{language}-{width}x{height}.png"),
                            full_page=True)
            page.goto(f"{server}/portal/passes/fleet")
            page.set_input_files("#f-file", files=[{"name": "fleet.csv", "mimeType": "text/csv", "buffer": bad_csv}])
            with page.expect_navigation():
                page.click("#fleet-submit")
            assert page.locator("#fleet-errors tbody tr").count() == 2  # category, valid_from
            assert layout_problems(page) == []
            page.screenshot(path=str(screenshot_dir() / f"portal-pass-fleet-errors-{language}-{width}x{height}.png"),
                            full_page=True)
            # the 422 answers are expected; nothing else may be logged
            assert [e for e in errors if "status of 422" not in e] == [], (language, size, errors)
            context.close()
