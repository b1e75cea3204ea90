"""Issue 13 item 4 (white-list part): what pending and suspended firms may do, and imports limited per firm.

A pending firm prepares its records (people, vehicles, CSV imports) but applies for no pass; a suspended
firm's lists are frozen for everyone until a regulator reinstates it."""
from datetime import timedelta

import pytest

from core.accounts import SYSTEM, Role
from factory import create_app
from tests.api.helpers import (API, PROBLEM_JSON, assert_problem, audit_rows, count, csv_body, csv_row,
                               person_json, resident_ids, uscc)
from tests.api.pass_helpers import clock
from tests.conftest import KEYS
from tests.factories import bearer, make_firm, make_token
from whitelist.models import Person, Vehicle
from whitelist.services import change_firm_status

IDS = resident_ids(12)


def _import(client, firm_id, headers, rows):
    return client.post(f"{API}/firms/{firm_id}/people/import", data=csv_body([csv_row(i) for i in rows]),
                       content_type="text/csv", headers=headers)


def _vehicle(firm_id, plate="粤B12345"):
    return {"firm_id": firm_id, "plate": plate, "kind": "van"}


def test_a_pending_firm_prepares_its_records_but_may_not_apply_for_a_pass(client, session, areas, now):
    firm, token = make_firm(session, areas, now, approved=False)
    person = client.post(f"{API}/people", json=person_json(), headers=bearer(token))
    vehicle = client.post(f"{API}/vehicles", json=_vehicle(firm.id), headers=bearer(token))
    imported = _import(client, firm.id, bearer(token), IDS[1:3])
    assert (person.status_code, vehicle.status_code, imported.status_code) == (201, 201, 201)
    assert imported.get_json()["imported"] == 2 and count(session, Person) == 3
    start = clock()
    response = client.post(f"{API}/passes", headers=bearer(token), json=dict(
        vehicle_id=vehicle.get_json()["id"], driver_ids=[person.get_json()["id"]], category="vegetables",
        scope=["440304001"], valid_from=start.isoformat(), valid_until=(start + timedelta(days=1)).isoformat(),
        purpose="配送"))
    assert assert_problem(response, 422, "not_whitelisted")["errors"]["firm"] == ["firm is pending"]
    assert audit_rows(session, action="pass.applied") == []


@pytest.mark.parametrize("who", ["firm", "regulator", "admin"])
def test_nobody_adds_people_or_vehicles_to_a_suspended_firm(client, session, areas, now, who):
    firm, firm_token = make_firm(session, areas, now)
    change_firm_status(session, firm.id, "suspend", actor=SYSTEM, areas=areas, now=now)
    token = {"firm": firm_token,
             "regulator": make_token(session, areas, now, Role.REGULATOR, area_code="440304"),
             "admin": make_token(session, areas, now, Role.ADMIN)}[who]
    for response in (client.post(f"{API}/people", json=person_json(firm_id=firm.id), headers=bearer(token)),
                     client.post(f"{API}/vehicles", json=_vehicle(firm.id), headers=bearer(token)),
                     _import(client, firm.id, bearer(token), IDS[:2])):
        body = assert_problem(response, 409, "firm_suspended")
        assert body["details"] == {"status": "suspended"}
        assert "reinstate" in body["detail"]
    assert (count(session, Person), count(session, Vehicle)) == (0, 0)
    assert [e.action for e in audit_rows(session, object_type="firm", object_id=firm.id)] == [
        "firm.registered", "firm.suspended"]
    assert audit_rows(session, object_type="person") == audit_rows(session, object_type="vehicle") == []


def test_a_reinstated_firm_registers_people_again(client, session, areas, now):
    firm, token = make_firm(session, areas, now)
    change_firm_status(session, firm.id, "suspend", actor=SYSTEM, areas=areas, now=now)
    assert_problem(client.post(f"{API}/people", json=person_json(), headers=bearer(token)), 409, "firm_suspended")
    change_firm_status(session, firm.id, "reinstate", actor=SYSTEM, areas=areas, now=now)
    assert client.post(f"{API}/people", json=person_json(), headers=bearer(token)).status_code == 201
    assert count(session, Person) == 1


# ---- imports are rate-limited per firm ---------------------------------------------------------------

@pytest.fixture
def limited(database_url):
    app = create_app({"DATABASE_URL": database_url, "TESTING": True, **KEYS, "RATELIMIT_IMPORT": "2 per hour"})
    yield app.test_client()
    app.extensions["db"].engine.dispose()


def test_imports_are_limited_per_firm_with_retry_after_and_nothing_imported(limited, session, areas, now):
    firm, token = make_firm(session, areas, now)
    other, other_token = make_firm(session, areas, now, uscc=uscc("MA5G0001"), name="别家公司")
    regulator = make_token(session, areas, now, Role.REGULATOR, area_code="440304")
    # A refused attempt on someone else's firm does not use up that firm's allowance.
    assert_problem(_import(limited, firm.id, bearer(other_token), IDS[:1]), 403, "forbidden")
    assert [_import(limited, firm.id, bearer(token), IDS[i:i + 1]).status_code for i in (0, 1)] == [201, 201]
    for headers in (bearer(token), bearer(regulator)):  # the allowance is the firm's, whoever imports
        refused = _import(limited, firm.id, headers, IDS[2:3])
        body = assert_problem(refused, 429, "rate_limited")
        assert refused.mimetype == PROBLEM_JSON and int(refused.headers["Retry-After"]) > 0
        assert body["details"]["retry_after"] == int(refused.headers["Retry-After"])
    assert count(session, Person) == 2 and len(audit_rows(session, action="people.imported")) == 2
    # Another firm has its own allowance.
    assert _import(limited, other.id, bearer(other_token), IDS[5:7]).status_code == 201


def test_the_import_limit_defaults_to_ten_an_hour_and_is_configurable(app, database_url, monkeypatch):
    assert app.config["RATELIMIT_IMPORT"] == "10 per hour"
    monkeypatch.setenv("GREENLANE_RATELIMIT_IMPORT", "3 per minute")
    configured = create_app({"DATABASE_URL": database_url, "TESTING": True, **KEYS})
    assert configured.config["RATELIMIT_IMPORT"] == "3 per minute"
    configured.extensions["db"].engine.dispose()
