"""The firm portal's people side in Debian's headless Chromium: a firm applies through the real form and
lands on its pending dashboard; the dashboard, people, forms with errors, the import error table, the
application form and the colleagues page fit a phone and a desk in zh and en (screenshots for a reviewer)."""
import re
from datetime import timedelta

import pytest

from core.accounts import SYSTEM, FirmRole, Role
from core.db import transaction
from checkpoints.alerts import raise_alert
from checkpoints.models import AlertKind
from tests.api.helpers import csv_body, csv_row, resident_ids, uscc, wrong_check_digit
from tests.api.pass_helpers import apply, build_world, clock, issued
from tests.browser.shots import (LOCALES, SIZES, Shot, layout_problems, screenshot_dir, take_screenshots,
                                 watch_errors)
from tests.factories import make_person, make_web_user

HOSTILE_NAME = '"><img src=x onerror=alert(1)><script>alert(1)</script>' + "长" * 40


def test_a_firm_applies_in_chinese_and_lands_on_its_pending_dashboard(server, browser):
    context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(f"{server}/signin")
    page.click("text=企业申请加入白名单")
    page.fill("#f-name", "深圳市鲜果配送有限公司")
    page.fill("#f-uscc", uscc("MA5G0042"))
    page.select_option("#f-category", "vegetables")
    page.select_option("#f-area_code", "440304001")
    page.fill("#f-address", "福田区园岭街道 8 号")
    page.fill("#f-contact_name", "何经理")
    page.fill("#f-contact_phone", "13800138001")
    page.fill("#f-username", "fruit.manager")
    page.fill("#f-password", "lettuce crates 2026")
    page.fill("#f-password2", "lettuce crates 2025")  # a typo first
    page.click("#submit-application")
    assert page.text_content("#f-password2-error") == "两次输入的密码不一致。"
    assert page.input_value("#f-name") == "深圳市鲜果配送有限公司" and page.input_value("#f-password") == ""
    page.fill("#f-password", "lettuce crates 2026")
    page.fill("#f-password2", "lettuce crates 2026")
    page.click("#submit-application")
    page.wait_for_url(re.compile(r"/portal/$"))
    assert "待审核" in page.text_content("#firm-status")
    page.click("#next-action")
    page.wait_for_url(re.compile(r"/portal/people$"))
    assert "还没有人员" in page.text_content("main")
    context.close()


@pytest.fixture
def manager(client, session, areas, cipher, now):
    """An approved firm with people (one with a hostile name), vehicles, passes and an alert; its manager."""
    world = build_world(session, areas, cipher, now)
    for n, number in enumerate(resident_ids(6, area="440305")):
        make_person(session, areas, cipher, now, firm_id=world.firm_id, name=f"司机{n}号", id_number=number)
    make_person(session, areas, cipher, now, firm_id=world.firm_id, name=HOSTILE_NAME[:100],
                id_number=resident_ids(1, area="440306")[0])
    soon = issued(client, world, vehicle=0, days=0.5)
    apply(client, world, vehicle=1)
    with transaction(session):
        raise_alert(session, AlertKind.CLONE_SUSPECTED, area_code="440304", subject_type="pass", subject_id=soon["id"],
                    details={}, actor=SYSTEM, now=clock() - timedelta(minutes=5))
    account = make_web_user(session, areas, now, Role.FIRM, username="hjx.manager", firm_id=world.firm_id,
                            firm_role=FirmRole.MANAGER, name="陈经理")
    make_web_user(session, areas, now, Role.FIRM, username="wang.clerk", firm_id=world.firm_id,
                  firm_role=FirmRole.CLERK, name=HOSTILE_NAME)
    return account


def _fits(shot):
    assert layout_problems(shot.page) == [], shot.path.name
    html = shot.page.content()
    assert "<script>alert" not in html and "<img src=x" not in html


def screenshots_after_submitting(browser, url, name, fill, *, cookies=None) -> int:
    """take_screenshots for the page a form answers with (422, errors beside the fields): open `url` per
    language and size, `fill(page)`, submit, check and photograph the answer."""
    count = 0
    for language in LOCALES:
        for size, (width, height) in SIZES.items():
            context = browser.new_context(locale=LOCALES[language], viewport={"width": width, "height": height},
                                          timezone_id="Asia/Shanghai")
            if cookies:
                context.add_cookies(cookies)
            try:
                page = context.new_page()
                errors = watch_errors(context, page)
                page.goto(url, wait_until="networkidle")
                fill(page)
                with page.expect_navigation() as answer:
                    page.click("main button[type=submit].primary")
                page.wait_for_load_state("networkidle")
                path = screenshot_dir() / f"{name}-{language}-{width}x{height}.png"
                assert answer.value.status == 422, f"{name}: HTTP {answer.value.status}"
                assert page.locator(".field-error, #import-errors").count() > 0, path.name
                _fits(Shot(language, size, path, page))
                page.screenshot(path=str(path), full_page=True)
                # Chromium logs the expected 422 of the answer itself as a console error.
                assert [e for e in errors if "status of 422" not in e] == [], f"{name} {language} {size}: {errors}"
                count += 1
            finally:
                context.close()
    return count


def test_the_portal_pages_fit_a_phone_and_a_desk_in_both_languages(server, browser, manager, session_cookie,
                                                                    tmp_path):
    cookies = session_cookie(manager)
    for path, name in (("/portal/", "portal-dashboard"), ("/portal/people", "portal-people"),
                       ("/portal/vehicles", "portal-vehicles"), ("/portal/users", "portal-users"),
                       ("/portal/people/import", "portal-import")):
        assert len(take_screenshots(browser, server + path, name, check=_fits, cookies=cookies)) == 4
    assert len(take_screenshots(browser, server + "/portal/apply", "portal-apply", check=_fits)) == 4

    def bad_person(page):
        page.select_option("#f-kind", "driver")
        page.fill("#f-name", HOSTILE_NAME[:100])
        page.select_option("#f-id_type", "cn_resident_id")
        page.fill("#f-id_number", wrong_check_digit(resident_ids(1)[0]))
        page.fill("#f-phone", "12345")
    assert screenshots_after_submitting(browser, server + "/portal/people/new", "portal-person-errors", bad_person,
                                        cookies=cookies) == 4

    bad_csv = tmp_path / "people.csv"
    numbers = resident_ids(3, area="440307")
    bad_csv.write_bytes(csv_body([csv_row(numbers[0]), csv_row(wrong_check_digit(numbers[1])),
                                  csv_row(numbers[2], kind="pilot", phone="1", name=HOSTILE_NAME), csv_row(numbers[0])]))
    assert screenshots_after_submitting(browser, server + "/portal/people/import", "portal-import-errors",
                                        lambda page: page.set_input_files("#f-file", str(bad_csv)), cookies=cookies) == 4

    def bad_application(page):
        page.fill("#f-name", HOSTILE_NAME)
        page.fill("#f-uscc", "91440300MA5G00000X")
        page.fill("#f-username", "x")
        page.fill("#f-password", "short")
    assert screenshots_after_submitting(browser, server + "/portal/apply", "portal-apply-errors", bad_application) == 4

    # Revoking a colleague takes two taps (no script): the first only opens the confirmation.
    context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
    context.add_cookies(cookies)
    page = context.new_page()
    page.goto(server + "/portal/users")
    confirm = page.locator("details.confirm").first
    assert not confirm.locator("button").is_visible()
    confirm.locator("summary").click()
    with page.expect_navigation():
        confirm.locator("button").click()
    assert "已停用" in page.text_content(".flashes")
    context.close()
