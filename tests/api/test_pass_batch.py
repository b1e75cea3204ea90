"""POST /passes/batch: a fleet application as a JSON list or a CSV file, all rows or none."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from factory import create_app
from passes.models import VehiclePass
from tests.api.helpers import API, assert_problem, audit_rows, count, fetch
from tests.api.pass_helpers import PLATES, apply, build_world, clock, pass_json
from tests.conftest import KEYS
from tests.factories import RESIDENT_IDS, USCC, bearer, make_firm, make_person, make_vehicle

BATCH = f"{API}/passes/batch"
HEADER = "plate,driver_id_numbers,category,scope,valid_from,valid_until,purpose"


@pytest.fixture
def world(session, areas, cipher, now):
    return build_world(session, areas, cipher, now)


@pytest.fixture
def second_driver(session, areas, cipher, now, world):
    return make_person(session, areas, cipher, now, firm_id=world.firm_id, id_number=RESIDENT_IDS[1], name="王师傅")


def _window(start_hours=-1, days=2):
    start = clock() + timedelta(hours=start_hours)
    return start.isoformat(), (start + timedelta(days=days)).isoformat()


def _csv(*lines: str, header: str = HEADER) -> bytes:
    return ("\r\n".join([header, *lines]) + "\r\n").encode("utf-8")


def _line(plate=PLATES[0], drivers=RESIDENT_IDS[0], category="vegetables", scope="440304001",
          window=None, purpose="蔬菜配送") -> str:
    start, until = window or _window()
    return f"{plate},{drivers},{category},{scope},{start},{until},{purpose}"


def _post_csv(client, world, body: bytes, who="firm", **query):
    return client.post(BATCH, data=body, content_type="text/csv; charset=utf-8", headers=world.headers(who),
                       query_string=query)


def _passes(session) -> list[VehiclePass]:
    return list(fetch(session, select(VehiclePass).order_by(VehiclePass.created_at, VehiclePass.plate)).scalars())


# ---- JSON ------------------------------------------------------------------------------------------

def test_a_json_list_creates_every_pass_pending_and_audits_each(client, session, world):
    rows = [pass_json(world, vehicle=i) for i in range(3)]
    response = client.post(BATCH, json=rows, headers=world.headers("firm"))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert [p["plate"] for p in body] == PLATES[:3]
    assert {p["status"] for p in body} == {"pending"}
    assert all(p["firm_id"] == world.firm_id and p["driver_ids"] == [world.driver_id] for p in body)
    stored = {p.id: p for p in _passes(session)}
    assert set(stored) == {p["id"] for p in body}
    assert {p.vehicle_id for p in stored.values()} == set(world.vehicle_ids[:3])
    applied = audit_rows(session, action="pass.applied")
    assert sorted(a.object_id for a in applied) == sorted(stored)


def test_one_bad_row_writes_nothing_and_every_row_error_is_listed(client, session, world, areas, now):
    other_firm, _ = make_firm(session, areas, now, uscc=USCC[1], name="另一家公司")
    foreign = make_vehicle(session, areas, now, firm_id=other_firm.id, plate="粤B99999")
    rows = [pass_json(world, vehicle=0),                                  # fine on its own
            pass_json(world, vehicle=1, scope=["999999"]),               # unknown area
            {**pass_json(world, vehicle=2), "vehicle_id": foreign.id},   # another firm's vehicle
            pass_json(world, vehicle=0, start_hours=24),                 # overlaps row 0
            {**pass_json(world, vehicle=3), "category": "weapons"},      # schema error
            "not an object"]
    response = client.post(BATCH, json=rows, headers=world.headers("firm"))
    body = assert_problem(response, 422, "batch_rejected")
    errors = body["errors"]
    assert {(e["row"], e["field"]) for e in errors} == {
        (1, "scope"), (2, "vehicle_id"), (3, "vehicle_id"), (4, "category"), (5, "")}
    by_row = {e["row"]: e["message"] for e in errors}
    assert "unknown area code 999999" in by_row[1]
    assert by_row[2] == "not a vehicle of this firm"
    assert "row 0 of this batch" in by_row[3]
    assert count(session, VehiclePass) == 0
    assert audit_rows(session, action="pass.applied") == []


def test_a_row_overlapping_an_existing_pass_is_refused(client, session, world):
    existing = apply(client, world, vehicle=0)
    response = client.post(BATCH, json=[pass_json(world, vehicle=1), pass_json(world, vehicle=0, start_hours=2)],
                           headers=world.headers("firm"))
    errors = assert_problem(response, 422, "batch_rejected")["errors"]
    assert errors == [{"row": 1, "field": "vehicle_id",
                       "message": f"pass {existing['id']} already covers this vehicle in an overlapping window"}]
    assert [p.id for p in _passes(session)] == [existing["id"]]


def test_rows_of_one_vehicle_in_separate_windows_are_accepted(client, session, world):
    rows = [pass_json(world, vehicle=0, days=1), pass_json(world, vehicle=0, start_hours=30, days=1)]
    response = client.post(BATCH, json=rows, headers=world.headers("firm"))
    assert response.status_code == 201, response.get_json()
    assert count(session, VehiclePass) == 2


def test_a_body_that_is_not_a_list_is_refused(client, session, world):
    response = client.post(BATCH, json=pass_json(world), headers=world.headers("firm"))
    body = assert_problem(response, 422)
    assert body["errors"] == {"_schema": ["expected a non-empty list"]}
    assert count(session, VehiclePass) == 0


def test_more_than_a_thousand_rows_is_too_large(client, session, world):
    response = client.post(BATCH, json=[pass_json(world)] * 1001, headers=world.headers("firm"))
    body = assert_problem(response, 413, "payload_too_large")
    assert body["details"] == {"max_rows": 1000, "rows": 1001}
    assert count(session, VehiclePass) == 0


def test_another_media_type_is_refused(client, world):
    response = client.post(BATCH, data=b"<passes/>", content_type="application/xml", headers=world.headers("firm"))
    assert_problem(response, 415, "unsupported_media_type")


# ---- CSV -------------------------------------------------------------------------------------------

def test_a_csv_resolves_plates_and_identity_numbers_of_the_firm(client, session, world, second_driver):
    body = _csv(_line(plate="粤b 12345", drivers=f"{RESIDENT_IDS[0]}|{RESIDENT_IDS[1].lower()}",
                      scope="440304001 440304002"),
                _line(plate=PLATES[1], drivers=f"{RESIDENT_IDS[1]}", scope="440304001;440304"))
    response = _post_csv(client, world, body)
    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    assert [(p["plate"], p["driver_ids"], p["scope"]) for p in created] == [
        (PLATES[0], [world.driver_id, second_driver.id], ["440304001", "440304002"]),
        (PLATES[1], [second_driver.id], ["440304001", "440304"])]
    assert {p.id for p in _passes(session)} == {p["id"] for p in created}
    assert len(audit_rows(session, action="pass.applied")) == 2


def test_csv_errors_name_the_line_and_the_column_and_nothing_is_written(client, session, world, areas, now, cipher):
    other_firm, _ = make_firm(session, areas, now, uscc=USCC[1], name="另一家公司")
    make_person(session, areas, cipher, now, firm_id=other_firm.id, id_number=RESIDENT_IDS[2])
    body = _csv(_line(),                                                   # line 2: fine
                _line(plate="粤B00000"),                                    # line 3: not the firm's plate
                _line(plate=PLATES[1], drivers=f"{RESIDENT_IDS[0]};{RESIDENT_IDS[2]}"),  # 4: other firm's person
                _line(plate=PLATES[2], category="toys", window=("tomorrow", "2026-01-01T00:00:00Z")),  # 5
                _line(plate=PLATES[0], window=_window(start_hours=5)),      # line 6: overlaps line 2
                _line(plate=PLATES[3], scope="12345"))                      # line 7: bad code
    response = _post_csv(client, world, body)
    errors = assert_problem(response, 422, "batch_rejected")["errors"]
    assert [(e["row"], e["column"]) for e in errors] == [
        (3, "plate"), (4, "driver_id_numbers"), (5, "category"), (5, "valid_from"), (6, "plate"), (7, "scope")]
    messages = {(e["row"], e["column"]): e["message"] for e in errors}
    assert messages[(3, "plate")] == "no vehicle of this firm has this plate"
    assert messages[(4, "driver_id_numbers")] == "identity number 2 is not on the firm's list"
    assert "row 2 of this batch" in messages[(6, "plate")]
    assert "6 or 9 digits" in messages[(7, "scope")]
    assert RESIDENT_IDS[2] not in response.get_data(as_text=True)
    assert count(session, VehiclePass) == 0
    assert audit_rows(session, action="pass.applied") == []


def test_a_csv_without_a_column_is_refused_on_line_one(client, session, world):
    response = _post_csv(client, world, _csv("粤B12345,x", header="plate,purpose"))
    errors = assert_problem(response, 422, "batch_rejected")["errors"]
    assert {(e["row"], e["column"]) for e in errors} == {
        (1, c) for c in ("driver_id_numbers", "category", "scope", "valid_from", "valid_until")}
    assert count(session, VehiclePass) == 0


def test_a_csv_of_more_than_a_thousand_rows_is_too_large(client, session, world):
    response = _post_csv(client, world, _csv(*[_line()] * 1001))
    assert_problem(response, 413, "payload_too_large")
    assert count(session, VehiclePass) == 0


# ---- who may apply ----------------------------------------------------------------------------------

def test_a_regulator_applies_for_a_firm_in_its_area(client, session, world):
    response = _post_csv(client, world, _csv(_line()), who="futian", firm_id=world.firm_id)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()[0]["firm_id"] == world.firm_id
    [entry] = audit_rows(session, action="pass.applied")
    assert entry.actor_role == "regulator"


def test_a_regulator_outside_the_firms_area_is_refused(client, session, world):
    assert_problem(_post_csv(client, world, _csv(_line()), who="nanshan", firm_id=world.firm_id), 403)
    assert count(session, VehiclePass) == 0


def test_a_regulator_must_name_the_firm(client, session, world):
    body = assert_problem(_post_csv(client, world, _csv(_line()), who="futian"), 422)
    assert "firm_id" in body["errors"]


def test_a_firm_cannot_apply_for_another_firm(client, session, world, areas, now):
    other_firm, _ = make_firm(session, areas, now, uscc=USCC[1], name="另一家公司")
    assert_problem(_post_csv(client, world, _csv(_line()), firm_id=other_firm.id), 403)
    assert count(session, VehiclePass) == 0


def test_officers_and_auditors_may_not_apply(client, world):
    for who in ("officer", "auditor"):
        assert_problem(client.post(BATCH, json=[pass_json(world)], headers=world.headers(who)), 403)


def test_a_pending_firm_applies_for_nothing(client, session, areas, now):
    firm, token = make_firm(session, areas, now, approved=False)
    response = client.post(BATCH, json=[{"vehicle_id": 1, "driver_ids": [1], "category": "vegetables",
                                         "scope": ["440304"], "valid_from": clock().isoformat(),
                                         "valid_until": (clock() + timedelta(days=1)).isoformat(),
                                         "purpose": "x"}], headers=bearer(token))
    assert_problem(response, 422, "not_whitelisted")
    assert count(session, VehiclePass) == 0


def test_fleet_applications_are_rate_limited_per_firm(database_url, session, areas, cipher, now):
    app = create_app({"DATABASE_URL": database_url, "TESTING": True, **KEYS, "RATELIMIT_BATCH": "2 per hour"})
    try:
        client = app.test_client()
        world = build_world(session, areas, cipher, now)
        statuses = [client.post(BATCH, json=[pass_json(world, vehicle=i)], headers=world.headers("firm")).status_code
                    for i in range(3)]
        assert statuses == [201, 201, 429]
        assert count(session, VehiclePass) == 2
    finally:
        app.extensions["db"].engine.dispose()


def test_the_openapi_document_shows_both_media_types(client):
    operation = client.get(f"{API}/openapi.json").get_json()["paths"][f"{API}/passes/batch"]["post"]
    content = operation["requestBody"]["content"]
    assert content["application/json"]["schema"]["items"] == {"$ref": "#/components/schemas/PassIn"}
    assert content["text/csv"]["schema"]["example"].startswith(HEADER)
    assert operation["responses"]["201"]["content"]["application/json"]["schema"]["type"] == "array"
