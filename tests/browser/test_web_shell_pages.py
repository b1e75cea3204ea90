"""The shell's pages in Debian's headless Chromium at phone and desk size, in Chinese and English: the
landing page, the firm lookup and the API docs render with no CSP violation, no sideways scrolling and
fingertip-sized controls, load nothing from another host, and leave screenshots for a reviewer."""
import os
from urllib.parse import urlsplit

import pytest

from tests.api.helpers import uscc
from tests.browser.shots import layout_problems, screenshot_dir, take_screenshots, watch_errors
from tests.factories import make_firm
from whitelist.models import Category

sync_api = pytest.importorskip("playwright.sync_api", reason="pip install -r requirements-dev.txt")
CHROMIUM = "/usr/bin/chromium"
TIMEOUT_MS = 30_000

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM),
                                reason="needs Debian's chromium (apt-get install chromium)")


@pytest.fixture
def firms(session, areas, now):
    for org, name, area, category in [
            ("MA5G0000", "深圳市海吉星蔬菜配送有限公司", "440304", Category.VEGETABLES),
            ("MA5G0001", "福田肉类供应链有限公司", "440304004", Category.MEAT),
            ("MA5G0002", "华强北医药物流有限公司（这是一个特别长的企业名称用来检查手机屏幕上的换行是否正常）",
             "440304011", Category.MEDICINE),
            ("MA5G0003", "Nanshan Cross-border Freight & Cold-chain Logistics Company Limited", "440305",
             Category.CROSS_BORDER_FREIGHT)]:
        make_firm(session, areas, now, uscc=uscc(org), name=name, area_code=area, category=category)


def assert_fits(shot):
    assert layout_problems(shot.page) == [], f"{shot.path.name}"


def test_the_landing_page_reads_well_on_a_phone_and_a_desk_in_both_languages(server, browser):
    def check(shot):
        assert_fits(shot)
        heading = shot.page.text_content("h1")
        assert heading == ("保供车辆，有序通行" if shot.language == "zh" else "Essential supplies keep moving")
        first = shot.page.locator(".action").first.bounding_box()
        assert first["y"] + first["height"] <= 844, "the first action is visible without scrolling"
    assert len(take_screenshots(browser, f"{server}/", "landing", check=check)) == 4


def test_the_firm_lookup_reads_well_and_finds_firms_in_both_languages(server, browser, firms):
    def check(shot):
        assert_fits(shot)
        assert shot.page.locator(".result").count() == 4
        count = shot.page.text_content("#result-count")
        assert count == ("共 4 家企业" if shot.language == "zh" else "Firms found: 4")
    assert len(take_screenshots(browser, f"{server}/firms/lookup", "firm-lookup", check=check)) == 4

    def check_search(shot):
        assert_fits(shot)
        assert shot.page.locator(".result").count() == 3 and shot.page.input_value("#area") == "440304"
    take_screenshots(browser, f"{server}/firms/lookup?area=440304&q=有限", "firm-lookup-futian", check=check_search)

    def check_error(shot):
        assert_fits(shot)
        message = "最多 100 个字符。" if shot.language == "zh" else "At most 100 characters."
        assert shot.page.text_content("#q-error") == message and shot.page.input_value("#q") == "x" * 101
    take_screenshots(browser, f"{server}/firms/lookup?q={'x' * 101}", "firm-lookup-error", check=check_error,
                     status=422)


def test_the_language_switch_changes_the_page_and_sticks(server, browser, firms):
    context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
    page = context.new_page()
    errors = watch_errors(context, page)
    page.goto(f"{server}/firms/lookup?area=440304")
    assert page.text_content("#result-count") == "共 3 家企业"
    page.click("text=English")
    page.wait_for_selector("text=Firms found: 3")
    assert urlsplit(page.url).path == "/firms/lookup" and "area=440304" in page.url
    page.goto(f"{server}/")
    assert page.get_attribute("html", "lang") == "en"
    assert errors == []
    context.close()


def test_the_api_docs_render_from_the_app_alone(server, browser):
    """Swagger UI loads and shows the API with every request to another host blocked."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors = watch_errors(context, page)
    outside = []

    def only_this_server(route):
        if urlsplit(route.request.url).netloc == urlsplit(server).netloc or route.request.url.startswith("data:"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()
    page.route("**/*", only_this_server)
    page.goto(f"{server}/api/v1/docs")
    page.wait_for_selector(".swagger-ui .info .title", timeout=TIMEOUT_MS)
    assert "GreenLane" in page.text_content(".swagger-ui .info .title")
    page.wait_for_selector(".opblock-tag", timeout=TIMEOUT_MS)
    assert outside == [] and errors == []
    page.screenshot(path=str(screenshot_dir() / "api-docs-1280x900.png"))
    context.close()
