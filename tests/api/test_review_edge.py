"""Issue 13, items 7 and 12: the HTTP edge refuses deeply nested JSON with a 400 before parsing it, and
JSON answers carry Chinese as UTF-8 bytes, not as \\uXXXX escapes."""
import json

import pytest

from core.audit import AuditEntry
from checkpoints.models import Scan
from passes.models import PassArea, PassDriver, VehiclePass
from tests.api.helpers import API, PROBLEM_JSON, assert_problem, count, firm_json, uscc
from tests.api.pass_helpers import FIRM_NAME, build_world, issued, pass_json
from whitelist.models import Firm

DEEP = 5_000


@pytest.fixture
def world(session, areas, cipher, now):
    return build_world(session, areas, cipher, now)


def _written(session) -> tuple[int, ...]:
    return tuple(count(session, model) for model in (Firm, VehiclePass, PassDriver, PassArea, Scan, AuditEntry))


def _nested(levels: int, *, opener: str = "[", closer: str = "]", inner: str = "") -> str:
    return opener * levels + inner + closer * levels


def _assert_too_deep(response) -> None:
    body = assert_problem(response, 400, "bad_request")
    assert "nested" in body["detail"] and "64" in body["detail"], body
    assert "Traceback" not in response.get_data(as_text=True)


# ---- item 7: nesting depth -------------------------------------------------------------------------

@pytest.mark.parametrize("path,who", [("/firms", None), ("/passes", "firm"), ("/scans", "officer")])
@pytest.mark.parametrize("body", [
    _nested(DEEP),
    _nested(DEEP, opener='{"a":', closer="}", inner="1"),
    '{"qr": ' + _nested(DEEP) + "}",
])
def test_deeply_nested_json_is_refused_with_a_400_and_nothing_is_written(client, session, world, path, who, body):
    before = _written(session)
    headers = world.headers(who) if who else {}
    response = client.post(f"{API}{path}", data=body, content_type="application/json", headers=headers)
    _assert_too_deep(response)
    assert _written(session) == before


def test_any_json_media_type_is_checked_too(client, session, world):
    before = _written(session)
    response = client.post(f"{API}/passes", data=_nested(DEEP), content_type="application/merge-patch+json",
                           headers=world.headers("firm"))
    _assert_too_deep(response)
    assert _written(session) == before


def test_nesting_up_to_the_limit_reaches_validation_as_before(client, session, world):
    before = _written(session)
    response = client.post(f"{API}/passes", data=json.dumps({"scope": json.loads(_nested(63))}),
                           content_type="application/json", headers=world.headers("firm"))
    body = assert_problem(response, 422, "validation_failed")
    assert "scope" in body["errors"] and "vehicle_id" in body["errors"]
    assert _written(session) == before


def test_brackets_inside_strings_do_not_count_as_nesting(client, session, world):
    data = pass_json(world, purpose='运菜 "[[[' + "[" * 200 + '\\"{{{' + "{" * 200)
    response = client.post(f"{API}/passes", json=data, headers=world.headers("firm"))
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["purpose"] == data["purpose"]
    assert count(session, VehiclePass) == 1


# ---- item 12: UTF-8, not \u escapes ----------------------------------------------------------------

def _utf8_json(response, mimetype: str = "application/json") -> bytes:
    assert response.mimetype == mimetype
    assert response.mimetype_params.get("charset", "utf-8").lower() == "utf-8"
    raw = response.get_data()
    assert b"\\u" not in raw, raw[:200]
    return raw


def test_a_registered_firm_comes_back_in_utf8(client, world):
    name = "深圳市福田区蔬菜配送有限公司"
    response = client.post(f"{API}/firms", json=firm_json(name=name, uscc=uscc("MA5G0001")))
    assert response.status_code == 201, response.get_json()
    raw = _utf8_json(response)
    assert name.encode("utf-8") in raw and json.loads(raw.decode("utf-8"))["name"] == name
    public = client.get(f"{API}/public/firms", query_string={"q": "海吉星"})  # the approved world firm
    assert public.status_code == 200, public.get_json()
    assert FIRM_NAME.encode("utf-8") in _utf8_json(public)


def test_lists_areas_and_passes_are_sent_in_utf8(client, world):
    vpass = issued(client, world)
    response = client.get(f"{API}/passes/{vpass['id']}", headers=world.headers("firm"))
    assert response.status_code == 200
    raw = _utf8_json(response)
    assert vpass["plate"].encode("utf-8") in raw and "蔬菜配送".encode("utf-8") in raw
    listing = client.get(f"{API}/passes", headers=world.headers("firm"))
    assert listing.status_code == 200 and vpass["plate"].encode("utf-8") in _utf8_json(listing)
    areas = client.get(f"{API}/areas", query_string={"parent": "440300"})
    assert areas.status_code == 200 and "福田区".encode("utf-8") in _utf8_json(areas)


def test_problem_json_errors_are_utf8_too(client, world):
    response = client.post(f"{API}/passes", json={**pass_json(world), "车牌": "粤B12345"},
                           headers=world.headers("firm"))
    body = assert_problem(response, 422, "validation_failed")
    assert "车牌".encode("utf-8") in _utf8_json(response, PROBLEM_JSON) and "车牌" in body["errors"]
