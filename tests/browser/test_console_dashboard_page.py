"""The console's charts in Debian's headless Chromium at phone and desk size, in Chinese and English: seven
SVG charts and their tables fit the width, no CSP violation, fingertip-sized controls; screenshots for a
reviewer (with the number tables opened)."""
import pytest

from core.accounts import Role
from tests.api.dashboard_helpers import NOW
from tests.api.dashboard_helpers import seed_chart_world
from tests.browser.shots import layout_problems, take_screenshots
from tests.factories import make_web_user


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch):
    monkeypatch.setattr("web.console.dashboard.utcnow", lambda: NOW)


def test_the_city_dashboard_reads_well_on_a_phone_and_a_desk_in_both_languages(server, browser, session_cookie,
                                                                               session, areas, cipher):
    seed_chart_world(session, areas, cipher)
    admin = make_web_user(session, areas, NOW, Role.ADMIN, username="charts.admin", name="市管理员")

    def check(shot):
        page = shot.page
        page.evaluate("document.querySelectorAll('details.numbers').forEach(d => d.open = true)")
        assert layout_problems(page) == [], shot.path.name
        wide = page.evaluate("[...document.querySelectorAll('.table-wrap')]"
                             ".filter(w => w.scrollWidth > w.clientWidth + 1).map(w => w.querySelector('table').id)")
        assert wide == [], f"{shot.path.name}: tables scroll sideways: {wide}"
        assert page.locator("svg.chart").count() == 7
        width = page.viewport_size["width"]
        for box in (page.locator("svg.chart").nth(i).bounding_box() for i in range(7)):
            assert box["width"] > 200 and box["x"] + box["width"] <= width, shot.path.name
        heading = page.text_content("#daily-title")
        assert heading == ("通行证：近 14 天每日签发、驳回和待审批" if shot.language == "zh"
                           else "Passes: issued, rejected and pending each day, last 14 days")
        assert page.text_content("#daily-table tbody tr:last-child td") == "1"
    paths = take_screenshots(browser, f"{server}/console/dashboard", "console-dashboard", check=check,
                             cookies=session_cookie(admin))
    assert len(paths) == 4
