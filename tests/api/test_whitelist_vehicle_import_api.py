"""API tests for the bulk CSV import of a firm's vehicles: all rows or none, every error with its line."""
import pytest

from tests.api.helpers import API, assert_problem, audit_rows, count, uscc
from tests.factories import bearer, make_firm, make_vehicle
from whitelist.models import Vehicle

HEADER = "plate,hk_plate,kind"


def _csv(*rows: str) -> bytes:
    return ("\r\n".join([HEADER, *rows]) + "\r\n").encode("utf-8")


@pytest.fixture
def firm(session, areas, now):
    return make_firm(session, areas, now)


def _import(client, firm_id, token, body: bytes):
    return client.post(f"{API}/firms/{firm_id}/vehicles/import", data=body, content_type="text/csv",
                       headers=bearer(token))


def test_a_valid_file_imports_every_vehicle_normalised_and_audited(client, session, firm):
    firm, token = firm
    response = _import(client, firm.id, token, _csv("粤b 12345,,van", "粤Z1234港,ab1234,truck", "粤BD12345,,car"))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["imported"] == 3 and body["last_id"] - body["first_id"] == 2
    plates = client.get(f"{API}/vehicles", headers=bearer(token)).get_json()
    assert [(v["plate"], v["hk_plate"], v["kind"]) for v in plates] == [
        ("粤B12345", None, "van"), ("粤Z1234港", "AB1234", "truck"), ("粤BD12345", None, "car")]
    (entry,) = audit_rows(session, action="vehicles.imported")
    assert entry.changes["count"] == 3


def test_every_bad_row_is_listed_with_its_line_and_column_and_nothing_is_imported(client, session, areas, now, firm):
    firm, token = firm
    other, _ = make_firm(session, areas, now, uscc=uscc("MA5G0001"), area_code="440305", name="南山物流")
    make_vehicle(session, areas, now, firm_id=other.id, plate="粤B99999")
    response = _import(client, firm.id, token, _csv(
        "粤B12345,,van",            # 2: fine
        "粤B1,,van",                # 3: not a plate
        "粤Z1234港,,truck",          # 4: cross-border without its Hong Kong mark
        "粤B23456,,rocket",         # 5: unknown kind
        "粤B12345,,car",            # 6: same plate as line 2
        "粤B99999,,van",            # 7: another firm's plate
    ))
    errors = assert_problem(response, 422, "import_rejected")["errors"]
    assert errors == [
        {"row": 3, "column": "plate", "message": "not a valid licence plate"},
        {"row": 4, "column": "hk_plate", "message": "a cross-border (粤Z…港/澳) vehicle also needs its Hong Kong mark"},
        {"row": 5, "column": "kind", "message": "Must be one of: van, truck, tractor, trailer, car, motorcycle."},
        {"row": 6, "column": "plate", "message": "same vehicle as line 2"},
        {"row": 7, "column": "plate", "message": "already registered"},
    ]
    assert count(session, Vehicle) == 1 and audit_rows(session, action="vehicles.imported") == []


def test_another_firms_import_a_wrong_type_and_a_suspended_firm_are_refused(client, session, areas, now, firm):
    firm, token = firm
    other, other_token = make_firm(session, areas, now, uscc=uscc("MA5G0001"), area_code="440305", name="南山物流")
    assert_problem(_import(client, firm.id, other_token, _csv("粤B12345,,van")), 403)
    response = client.post(f"{API}/firms/{firm.id}/vehicles/import", json={"plate": "粤B12345"}, headers=bearer(token))
    assert_problem(response, 415)
    assert count(session, Vehicle) == 0


def test_imports_share_the_per_firm_allowance_with_people_imports(app_factory, session, areas, now, firm):
    firm, token = firm
    client = app_factory(RATELIMIT_IMPORT="1 per hour").test_client()
    assert _import(client, firm.id, token, _csv("粤B12345,,van")).status_code == 201
    people = client.post(f"{API}/firms/{firm.id}/people/import", data=b"kind,name,id_type,id_number,phone\r\n",
                         content_type="text/csv", headers=bearer(token))
    assert_problem(people, 429, "rate_limited")
    assert count(session, Vehicle) == 1
