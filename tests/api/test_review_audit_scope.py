"""Issue 13 item 2a: a regulator reads only the audit entries about objects in its own area."""
import json

import pytest

from checkpoints import services as checkpoints
from passes.policy import RiskLevel
from tests.api.helpers import API, audit_rows
from tests.api.logistics_helpers import CITY, build_relay
from tests.api.logistics_helpers import clock as relay_clock
from tests.api.pass_helpers import build_world, pass_json
from tests.factories import RESIDENT_IDS, USCC, make_firm, make_person, make_vehicle

NANSHAN_PERSON = "南山张三"
NANSHAN_FIRM = "南山冷链配送有限公司"


@pytest.fixture
def city(client, session, areas, cipher, now):
    """A Futian firm (driver, four vehicles, a pass in a Futian street), a Nanshan firm with a person and a
    vehicle, a Nanshan site and a Nanshan risk level; regulators of the city, both districts and a street."""
    world = build_world(session, areas, cipher, now)
    nanshan, _ = make_firm(session, areas, now, name=NANSHAN_FIRM, uscc=USCC[1], area_code="440305")
    person = make_person(session, areas, cipher, now, firm_id=nanshan.id, name=NANSHAN_PERSON,
                         id_number=RESIDENT_IDS[1])
    vehicle = make_vehicle(session, areas, now, firm_id=nanshan.id, plate="粤B99999")
    applied = client.post(f"{API}/passes", json=pass_json(world), headers=world.headers("firm"))
    assert applied.status_code == 201, applied.get_json()
    site = client.post(f"{API}/sites", headers=world.headers("nanshan"), json=dict(
        name="南山检查站", kind="checkpoint", area_code="440305", lat=22.52, lon=113.93))
    assert site.status_code == 201, site.get_json()
    risk = client.put(f"{API}/areas/440305/risk", json={"level": "precaution", "reason": "病例"},
                      headers=world.headers("nanshan"))
    assert risk.status_code == 200, risk.get_json()
    futian_firm = {("firm", world.firm_id), ("person", world.driver_id)} | {("vehicle", v) for v in world.vehicle_ids}
    pass_object = {("pass", applied.get_json()["id"])}
    nanshan_objects = {("firm", nanshan.id), ("person", person.id), ("vehicle", vehicle.id),
                       ("site", site.get_json()["id"]), ("area", "440305")}
    world.objects = {"futian_firm": {(t, str(i)) for t, i in futian_firm},
                     "pass": {(t, str(i)) for t, i in pass_object},
                     "nanshan": {(t, str(i)) for t, i in nanshan_objects}}
    world.nanshan_firm_id = nanshan.id
    return world


def _read(client, world, who, **query) -> tuple[list[dict], dict]:
    response = client.get(f"{API}/audit", query_string={"page_size": 100, **query}, headers=world.headers(who))
    assert response.status_code == 200, response.get_json()
    return response.get_json(), json.loads(response.headers["X-Pagination"])


def _expected(session, objects: set) -> list[int]:
    """Sequence numbers (newest first) of the stored entries about these objects, read from the database."""
    return [e.seq for e in reversed(audit_rows(session)) if (e.object_type, e.object_id) in objects]


def test_a_district_regulator_reads_only_entries_about_objects_in_its_district(client, session, city):
    entries, meta = _read(client, city, "futian")
    expected = _expected(session, city.objects["futian_firm"] | city.objects["pass"])
    assert [e["seq"] for e in entries] == expected and meta["total"] == len(expected)
    assert {"firm.registered", "person.registered", "vehicle.registered", "pass.applied"} <= {
        e["action"] for e in entries}
    text = json.dumps(entries, ensure_ascii=False)
    assert NANSHAN_PERSON not in text and NANSHAN_FIRM not in text
    # Accounts, keys and health-test batches have no area: only auditors and admins see them.
    assert not {e["object_type"] for e in entries} & {"account", "signing_key", "health_tests"}

    nanshan, _ = _read(client, city, "nanshan")
    assert [e["seq"] for e in nanshan] == _expected(session, city.objects["nanshan"])
    assert {"site.created", "area.risk_set", "person.registered"} <= {e["action"] for e in nanshan}
    assert NANSHAN_PERSON in json.dumps(nanshan, ensure_ascii=False)


def test_a_street_regulator_sees_a_pass_whose_scope_lies_in_its_street_but_not_the_district_firm(
        client, session, city):
    entries, _ = _read(client, city, "nanyuan")
    assert [e["seq"] for e in entries] == _expected(session, city.objects["pass"])
    assert [e["action"] for e in entries] == ["pass.applied"]


def test_the_city_regulator_reads_both_districts_and_an_auditor_or_admin_reads_everything(client, session, city):
    entries, meta = _read(client, city, "city")
    expected = _expected(session, city.objects["futian_firm"] | city.objects["pass"] | city.objects["nanshan"])
    assert [e["seq"] for e in entries] == expected and meta["total"] == len(expected)
    everything = [e.seq for e in reversed(audit_rows(session))]
    for who in ("auditor", "admin"):
        entries, meta = _read(client, city, who)
        assert [e["seq"] for e in entries] == everything and meta["total"] == len(everything)
    assert len(everything) > len(expected)  # account and health-test entries exist, unseen by regulators


def test_object_filters_still_work_inside_the_regulators_area(client, session, city):
    own, _ = _read(client, city, "futian", object_type="firm", object_id=city.firm_id)
    assert [(e["object_type"], e["object_id"], e["action"]) for e in own] == [
        ("firm", str(city.firm_id), "firm.registered")]
    other, meta = _read(client, city, "futian", object_type="firm", object_id=city.nanshan_firm_id)
    assert other == [] and meta["total"] == 0
    registered, _ = _read(client, city, "futian", action="person.registered")
    assert [e["object_id"] for e in registered] == [str(city.driver_id)]
    accounts, _ = _read(client, city, "city", object_type="account")
    assert accounts == []
    assert _read(client, city, "auditor", object_type="account")[0]  # the auditor still sees them


def test_pages_and_x_pagination_totals_count_only_the_visible_entries(client, session, city):
    expected = _expected(session, city.objects["futian_firm"] | city.objects["pass"])
    seen = []
    for page in (1, 2, 3, 4):
        response = client.get(f"{API}/audit", query_string={"page": page, "page_size": 2},
                              headers=city.headers("futian"))
        meta = json.loads(response.headers["X-Pagination"])
        assert meta["total"] == len(expected) and meta["total_pages"] == (len(expected) + 1) // 2
        seen += [e["seq"] for e in response.get_json()]
    assert seen == expected


def test_a_handover_is_seen_by_the_regulator_of_its_yard_not_of_the_booking_firm(app, client, session, areas,
                                                                                  cipher):
    now = relay_clock()
    relay = build_relay(session, areas, cipher, app.extensions["keyring"], now)
    handover = relay.book(now)
    entries = {}
    for who in ("futian", "nanshan"):
        response = client.get(f"{API}/audit", query_string={"object_type": "handover", "page_size": 100},
                              headers=relay.headers(who))
        assert response.status_code == 200
        entries[who] = [(e["object_id"], e["action"]) for e in response.get_json()]
    # The yard lies in a Futian street; the booking firm is in Nanshan.
    booked = [(e.object_id, e.action) for e in reversed(audit_rows(session, object_type="handover"))]
    assert booked and all(object_id == str(handover.id) for object_id, _ in booked)
    assert entries == {"futian": booked, "nanshan": []}


def test_a_route_is_seen_in_the_areas_of_its_crossing_and_yard_and_the_policy_by_the_city(app, client, session,
                                                                                         areas, cipher):
    now = relay_clock()
    relay = build_relay(session, areas, cipher, app.extensions["keyring"], now)
    checkpoints.set_route_checkpoints(session, relay.ids["crossing"], relay.ids["yard"],
                                      checkpoint_ids=[relay.ids["checkpoint"]], actor=CITY, areas=areas, now=now)
    checkpoints.update_policy(session, max_test_age_hours={level: 48 for level in RiskLevel}, tests_required=True,
                              actor=CITY, now=now)
    seen = {}
    for who in ("futian", "nanshan", "city", "auditor"):
        response = client.get(f"{API}/audit", query_string={"page_size": 100}, headers=relay.headers(who))
        seen[who] = {e["action"] for e in response.get_json()} & {"route.checkpoints_set", "policy.updated"}
    assert seen == {"futian": {"route.checkpoints_set"}, "nanshan": {"route.checkpoints_set"},
                    "city": {"route.checkpoints_set", "policy.updated"},
                    "auditor": {"route.checkpoints_set", "policy.updated"}}
