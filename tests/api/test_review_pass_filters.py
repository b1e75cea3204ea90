"""Issue 13, item 13: unknown query parameters are refused with a 422 on every list route, and GET /passes
filters by category, plate, validity instant and area (touches or within), sorted as asked."""
import json
from datetime import timedelta

import pytest

from core.audit import AuditEntry
from passes.models import VehiclePass
from tests.api.helpers import API, assert_problem, count
from tests.api.pass_helpers import PLATES, apply, build_world, clock


@pytest.fixture
def world(session, areas, cipher, now):
    return build_world(session, areas, cipher, now)


@pytest.fixture
def four(client, world):
    """Four pending passes, applied in this order (so created_at ascends p0 → p3):
    p0 vegetables, street 440304001,             now-1h  … now+71h
    p1 medicine,   district 440304 (Futian),     now+24h … now+72h
    p2 vegetables, street 440304001 + 440305,    now-2h  … now+22h
    p3 meat,       city 440300,                  now+48h … now+168h"""
    specs = [dict(vehicle=0, category="vegetables", scope=["440304001"], start_hours=-1, days=3),
             dict(vehicle=1, category="medicine", scope=["440304"], start_hours=24, days=2),
             dict(vehicle=2, category="vegetables", scope=["440304001", "440305"], start_hours=-2, days=1),
             dict(vehicle=3, category="meat", scope=["440300"], start_hours=48, days=5)]
    return [apply(client, world, **spec)["id"] for spec in specs]


def _ids(client, world, who="admin", **query) -> list[str]:
    response = client.get(f"{API}/passes", query_string={"page_size": 100, **query}, headers=world.headers(who))
    assert response.status_code == 200, response.get_json()
    return [p["id"] for p in response.get_json()]


def _at(hours: float) -> str:
    return (clock() + timedelta(hours=hours)).isoformat()


# ---- filters on GET /passes ------------------------------------------------------------------------

def test_without_filters_every_pass_is_listed_newest_first(client, world, four):
    assert _ids(client, world) == four[::-1]


@pytest.mark.parametrize("category,expected", [("vegetables", [2, 0]), ("medicine", [1]), ("meat", [3]),
                                               ("utilities", [])])
def test_category_filters(client, world, four, category, expected):
    assert _ids(client, world, category=category) == [four[i] for i in expected]


@pytest.mark.parametrize("plate", [PLATES[1], "粤b 23456", "粤B·23456", "粤Ｂ２３４５６"])
def test_plate_is_normalised_like_the_api_normalises_plates(client, world, four, plate):
    assert _ids(client, world, plate=plate) == [four[1]]


def test_plate_that_no_pass_carries_matches_nothing(client, world, four):
    assert _ids(client, world, plate="粤B99999") == []


@pytest.mark.parametrize("hours,expected", [(1, [2, 0]), (30, [1, 0]), (71.5, [3, 1]), (100, [3]), (200, [])])
def test_valid_at_lists_passes_whose_window_holds_that_instant(client, world, four, hours, expected):
    assert _ids(client, world, valid_at=_at(hours)) == [four[i] for i in expected]


@pytest.mark.parametrize("area,mode,expected", [
    ("440304001", None, [3, 2, 1, 0]),          # default: touches — the street, what is in it, what is above it
    ("440304001", "touches", [3, 2, 1, 0]),
    ("440304", "within", [1, 0]),               # every scope area lies inside Futian
    ("440305", "touches", [3, 2]),
    ("440305", "within", []),                   # p2 reaches into Futian as well
    ("440300", "within", [3, 2, 1, 0]),
])
def test_area_touches_or_within(client, world, four, area, mode, expected):
    query = {"area": area} | ({"area_mode": mode} if mode else {})
    assert _ids(client, world, **query) == [four[i] for i in expected]


@pytest.mark.parametrize("sort,expected", [
    ("-created_at", [3, 2, 1, 0]), ("created_at", [0, 1, 2, 3]),
    ("valid_until", [2, 0, 1, 3]), ("-valid_until", [3, 1, 0, 2]),
    ("valid_from", [2, 0, 1, 3]), ("-valid_from", [3, 1, 0, 2]),
])
def test_sort(client, world, four, sort, expected):
    assert _ids(client, world, sort=sort) == [four[i] for i in expected]


def test_filters_combine_with_each_other_paging_and_the_readers_rule(client, world, four):
    assert _ids(client, world, category="vegetables", valid_at=_at(30)) == [four[0]]
    assert _ids(client, world, who="nanshan", sort="valid_until") == [four[2], four[3]]
    assert _ids(client, world, who="firm", area="440304", area_mode="within", sort="created_at") == four[:2]
    response = client.get(f"{API}/passes", query_string={"sort": "valid_until", "page": 2, "page_size": 1},
                          headers=world.headers("admin"))
    assert response.status_code == 200 and [p["id"] for p in response.get_json()] == [four[0]]
    assert json.loads(response.headers["X-Pagination"])["total"] == 4


@pytest.mark.parametrize("query,field", [
    ({"category": "spaceships"}, "category"), ({"sort": "plate"}, "sort"), ({"area_mode": "near"}, "area_mode"),
    ({"valid_at": "2026-03-14T08:00:00"}, "valid_at"), ({"plate": ""}, "plate"), ({"plate": "x" * 21}, "plate"),
])
def test_bad_filter_values_are_422_naming_the_parameter(client, world, four, query, field):
    body = assert_problem(client.get(f"{API}/passes", query_string=query, headers=world.headers("admin")), 422,
                          "validation_failed")
    assert list(body["errors"]) == [field]


# ---- unknown parameters ----------------------------------------------------------------------------

def test_unknown_filters_on_passes_are_422_naming_them_and_change_nothing(client, session, world, four):
    before = (count(session, VehiclePass), count(session, AuditEntry))
    response = client.get(f"{API}/passes", query_string={"category": "meat", "colour": "red", "plates": "粤B12345"},
                          headers=world.headers("admin"))
    body = assert_problem(response, 422, "validation_failed")
    assert set(body["errors"]) == {"colour", "plates"}
    assert body["errors"]["colour"] == ["Unknown query parameter."]
    assert (count(session, VehiclePass), count(session, AuditEntry)) == before


LIST_ROUTES = [("/passes", "admin"), ("/firms", "admin"), ("/public/firms", None), ("/people", "admin"),
               ("/vehicles", "admin"), ("/scans", "admin"), ("/handovers", "admin"), ("/audit", "admin"),
               ("/sites", "admin"), ("/alerts", "admin")]


@pytest.mark.parametrize("path,who", LIST_ROUTES)
def test_every_list_route_refuses_an_unknown_parameter_and_keeps_paging(client, world, path, who):
    headers = world.headers(who) if who else {}
    body = assert_problem(client.get(f"{API}{path}", query_string={"bogus": "1"}, headers=headers), 422,
                          "validation_failed")
    assert body["errors"] == {"bogus": ["Unknown query parameter."]}
    response = client.get(f"{API}{path}", query_string={"page": 1, "page_size": 5}, headers=headers)
    assert response.status_code == 200, response.get_json()
    assert isinstance(response.get_json(), list) and "X-Pagination" in response.headers


def test_the_public_firm_search_refuses_the_status_filter_it_does_not_offer(client):
    body = assert_problem(client.get(f"{API}/public/firms", query_string={"status": "pending"}), 422)
    assert list(body["errors"]) == ["status"]


def test_areas_are_not_paged_so_page_is_unknown_there(client):
    body = assert_problem(client.get(f"{API}/areas", query_string={"parent": "440300", "page": 2}), 422)
    assert list(body["errors"]) == ["page"]
    response = client.get(f"{API}/areas", query_string={"parent": "440300", "level": "district"})
    assert response.status_code == 200 and "440304" in [a["code"] for a in response.get_json()]


def test_a_scan_query_with_its_from_parameter_is_still_accepted(client, world):
    response = client.get(f"{API}/scans", query_string={"from": _at(-5), "to": _at(5)}, headers=world.headers("admin"))
    assert response.status_code == 200 and response.get_json() == []


# ---- the OpenAPI document --------------------------------------------------------------------------

def test_the_openapi_document_describes_the_new_filters(client):
    spec = client.get(f"{API}/openapi.json").get_json()
    params = {p["name"]: p for p in spec["paths"]["/api/v1/passes"]["get"]["parameters"]}
    assert {"status", "firm", "area", "area_mode", "category", "plate", "valid_at", "sort", "page",
            "page_size"} <= set(params)
    assert params["sort"]["schema"]["enum"] == ["-created_at", "created_at", "valid_from", "-valid_from",
                                                "valid_until", "-valid_until"]
    assert params["area_mode"]["schema"]["enum"] == ["touches", "within"]
    assert "touches" in params["area"]["description"] and "within" in params["area_mode"]["description"]
