"""The console's charts, /console/dashboard: the numbers in its tables are the seeded ones (Beijing days and
hours), a regulator sees its own area only, bad parameters get an error page, and no data says so."""
import pytest

from core.accounts import Role
from tests.api.dashboard_helpers import NOW, seed_chart_world, table_rows
from tests.api.web_helpers import assert_strict_page_headers, html_of, sign_in
from tests.factories import WEB_PASSWORD, make_web_user

HOSTILE = "<script>alert(1)</script>\u202e"
DAYS = [f"2026-03-{d:02d}" for d in range(1, 15)]


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch):
    monkeypatch.setattr("web.console.dashboard.utcnow", lambda: NOW)


@pytest.fixture
def world(session, areas, cipher):
    return seed_chart_world(session, areas, cipher)


def signed_in(client, session, areas, role, area_code=None):
    make_web_user(session, areas, NOW, role, username=f"dash.{role.value}", area_code=area_code)
    assert sign_in(client, f"dash.{role.value}", WEB_PASSWORD).status_code == 303
    return client


def dashboard(client, query=""):
    response = client.get(f"/console/dashboard{query}", headers={"Accept-Language": "zh-CN"})
    return response, html_of(response)


def test_the_city_tables_show_the_seeded_passes_by_beijing_day_and_by_district(client, session, areas, world):
    signed_in(client, session, areas, Role.ADMIN)
    response, html = dashboard(client)
    assert response.status_code == 200
    assert_strict_page_headers(response)
    daily = table_rows(html, "daily-table")
    assert list(daily) == DAYS
    assert [daily[d][0] for d in DAYS[-3:]] == ["1", "1", "1"]  # issued on the 12th, 13th and 14th (Beijing)
    assert [daily[d][1] for d in DAYS] == ["0"] * 13 + ["1"]
    assert [int(daily[d][2]) for d in DAYS] == [0] * 8 + [1, 2, 4, 3, 3, 3]  # pending at each day's end
    by_district = table_rows(html, "areas-table")
    assert by_district["福田区"] == ["2", "1", "2"]
    assert by_district["南山区"] == ["1", "0", "1"]
    assert by_district["整个区域及更大范围"] == ["1", "0", "0"]
    assert by_district["罗湖区"] == ["0", "0", "0"]
    assert 'href="/console/dashboard?area=440304&amp;hours=24"' in html  # a district's row opens its dashboard


def test_the_city_tables_show_scans_per_beijing_hour_reasons_yards_and_waiting_times(client, session, areas, world):
    signed_in(client, session, areas, Role.AUDITOR)
    _, html = dashboard(client)
    scans = table_rows(html, "scans-table")
    assert len(scans) == 24 and list(scans)[-1] == "03-14 16:00"
    assert scans["03-14 15:00"] == ["5", "2", "40.0%"] and scans["03-14 14:00"] == ["2", "1", "50.0%"]
    assert "03-13 10:00" not in scans
    assert "共 7 次，拒绝 3 次（42.9%）" in html
    assert table_rows(html, "reasons-table") == {"通行证已过期": ["2", "28.6%"], "核酸检测已超出时效": ["1", "14.3%"],
                                                "超出通行范围": ["1", "14.3%"]}
    assert table_rows(html, "yards-table") == {"南山接驳场": ["0 / 4", "–", "–", "0"],
                                               "福田接驳场": ["3 / 10", "60.0", "120.0", "3"]}
    ages = table_rows(html, "ages-table")
    assert ages == {"不到 1 小时": ["1", "0"], "1–4 小时": ["0", "1"], "4–12 小时": ["1", "0"], "12–24 小时": ["0", "0"],
                    "1–3 天": ["0", "0"], "3 天以上": ["1", "0"]}
    _, wide = dashboard(client, "?hours=48")
    scans = table_rows(wide, "scans-table")
    assert len(scans) == 48 and scans["03-13 10:00"] == ["2", "0", "0.0%"]


def test_a_regulator_sees_only_the_numbers_of_its_own_area(client, session, areas, world):
    signed_in(client, session, areas, Role.REGULATOR, area_code="440305")
    _, html = dashboard(client)
    assert 'id="area-name">南山区<' in html
    daily = table_rows(html, "daily-table")
    assert [daily[d][0] for d in DAYS[-3:]] == ["0", "1", "1"]  # not the Futian pass of the 12th
    assert [daily[d][1] for d in DAYS] == ["0"] * 14           # nor the Futian rejection
    streets = table_rows(html, "areas-table")
    assert streets["南头街道"] == ["1", "0", "1"] and streets["整个区域及更大范围"] == ["1", "0", "0"]
    assert "福田区" not in streets
    scans = table_rows(html, "scans-table")
    assert scans["03-14 14:00"] == ["2", "1", "50.0%"] and scans["03-14 15:00"] == ["0", "0", "–"]
    assert list(table_rows(html, "yards-table")) == ["南山接驳场"]
    assert table_rows(html, "ages-table")["1–4 小时"] == ["0", "0"]  # the Futian firm's application
    streets_only = [value for value, _ in areas_in_picker(html)]
    assert streets_only[0] == "440305" and all(code.startswith("440305") for code in streets_only)
    # A street of its own area, yes; another district, or the city, no.
    assert dashboard(client, "?area=440305001")[0].status_code == 200
    for other in ("440304", "440300"):
        response, page = dashboard(client, f"?area={other}")
        assert response.status_code == 403 and "没有权限" in page and "daily-table" not in page


def areas_in_picker(html):
    import re
    return re.findall(r'<option value="(\d+)"( selected)?>', html)


@pytest.mark.parametrize("query,status", [("?area=999999", 404), ("?area=", 404), (f"?area={HOSTILE}", 404),
                                          ("?hours=12", 400), ("?hours=abc", 400), ("?hours=", 400)])
def test_a_bad_parameter_gets_an_error_page_that_says_what_to_do(client, session, areas, query, status):
    signed_in(client, session, areas, Role.ADMIN)
    response, html = dashboard(client, query)
    assert response.status_code == status and response.mimetype == "text/html"
    assert "<script>alert(1)" not in html and "daily-table" not in html
    assert "请" in html  # the error page tells what to do next


def test_no_data_renders_no_data_instead_of_empty_charts(client, session, areas):
    signed_in(client, session, areas, Role.ADMIN)
    response, html = dashboard(client)
    assert response.status_code == 200
    assert html.count("暂无数据。") == 3  # passes per day, by district, scans
    assert "本区域没有接驳场站。" in html and "没有待审批的申请。" in html
    assert "<svg" not in html and "daily-table" not in html


def test_the_charts_are_inline_svg_without_style_attributes_and_hostile_names_stay_text(client, session, areas,
                                                                                      world):
    from checkpoints.models import Site
    from core.db import transaction
    with transaction(session):
        session.get(Site, world.sites["福田接驳场"]).name = HOSTILE
    signed_in(client, session, areas, Role.ADMIN)
    response, html = dashboard(client)
    assert html.count("<svg") == 7  # daily, districts, scans, reasons, yard occupancy, yard dwell, ages
    assert " style=" not in html and "<style" not in html
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_english_pages_name_the_charts_in_english(client, session, areas, world):
    signed_in(client, session, areas, Role.ADMIN)
    response = client.get("/console/dashboard", headers={"Accept-Language": "en"})
    html = html_of(response)
    assert response.status_code == 200 and "Futian District" in table_rows(html, "areas-table")
