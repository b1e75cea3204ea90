"""API tests for the people and vehicle white lists: ownership, jurisdiction, validation, masking, search."""
import pytest
from sqlalchemy import select, text

from core.accounts import Role
from core.audit import AuditEntry
from tests.api.helpers import (API, as_text, assert_problem, audit_rows, count, fetch, person_json, resident_id,
                               uscc, wrong_check_digit)
from tests.factories import RESIDENT_IDS, bearer, make_firm, make_person, make_token, make_vehicle
from whitelist.models import EntryStatus, Person, Vehicle, VehicleKind

PERSON_FIELDS = {"id", "firm_id", "kind", "name", "id_type", "id_number", "phone", "status", "created_at"}


@pytest.fixture
def two_firms(session, areas, now):
    """A firm in a Futian street and one in Nanshan, each with its firm token."""
    futian, futian_token = make_firm(session, areas, now, area_code="440304004")
    nanshan, nanshan_token = make_firm(session, areas, now, uscc=uscc("MA5G0001"), area_code="440305",
                                       name="南山物流有限公司")
    return futian, futian_token, nanshan, nanshan_token


def _written(session) -> tuple[int, int, int]:
    return count(session, Person), count(session, Vehicle), count(session, AuditEntry)


# ---- people ----------------------------------------------------------------------------------------

def test_a_firm_adds_its_own_driver_and_sees_only_masked_numbers(client, session, two_firms):
    futian, token, _, _ = two_firms
    response = client.post(f"{API}/people", json=person_json(), headers=bearer(token))
    assert response.status_code == 201
    body = response.get_json()
    assert set(body) == PERSON_FIELDS
    assert (body["firm_id"], body["kind"], body["status"]) == (futian.id, "driver", "active")
    assert body["id_number"] == "4403**********0009"
    assert body["phone"] == "+86 139****9000"
    assert client.get(f"{API}/people/{body['id']}", headers=bearer(token)).get_json() == body
    [entry] = audit_rows(session, object_type="person", object_id=body["id"])
    assert entry.action == "person.registered" and entry.actor_role == "firm"
    assert entry.changes["id_number"] == "4403**********0009"


def test_a_firm_may_not_add_people_to_another_firm(client, session, two_firms):
    _, token, nanshan, _ = two_firms
    before = _written(session)
    response = client.post(f"{API}/people", json=person_json(firm_id=nanshan.id), headers=bearer(token))
    assert_problem(response, 403, "forbidden")
    assert _written(session) == before


def test_a_regulator_adds_people_only_to_firms_inside_its_area(client, session, areas, now, two_firms):
    futian, _, nanshan, _ = two_firms
    regulator = make_token(session, areas, now, Role.REGULATOR, area_code="440304")
    inside = client.post(f"{API}/people", json=person_json(firm_id=futian.id), headers=bearer(regulator))
    assert inside.status_code == 201 and inside.get_json()["firm_id"] == futian.id
    before = _written(session)
    outside = client.post(f"{API}/people", json=person_json(firm_id=nanshan.id), headers=bearer(regulator))
    assert_problem(outside, 403, "forbidden")
    assert _written(session) == before
    missing = client.post(f"{API}/people", json=person_json(), headers=bearer(regulator))
    assert "firm_id" in assert_problem(missing, 422)["errors"]


@pytest.mark.parametrize("id_type,number", [
    ("cn_resident_id", wrong_check_digit(RESIDENT_IDS[0])), ("cn_resident_id", "440304000101001"),
    ("cn_resident_id", resident_id("44030420001301000")), ("hk_id", "A123456(4)"),
    ("hk_macao_travel_permit", "X12345678"), ("passport", "E1")])
def test_an_invalid_identity_number_is_a_422_on_id_number(client, session, two_firms, id_type, number):
    _, token, _, _ = two_firms
    response = client.post(f"{API}/people", json=person_json(id_type=id_type, id_number=number),
                           headers=bearer(token))
    body = assert_problem(response, 422, "validation_failed")
    assert list(body["errors"]) == ["id_number"]
    assert number not in str(body)  # the rejected number is not echoed back either
    assert _written(session)[0] == 0


@pytest.mark.parametrize("number", ["440304200001010009", "4403 0420 0001 0100 09", "440304-20000101-0009"])
def test_the_same_person_twice_in_one_firm_is_a_409(client, session, two_firms, number):
    futian, token, _, nanshan_token = two_firms
    assert client.post(f"{API}/people", json=person_json(), headers=bearer(token)).status_code == 201
    before = _written(session)
    again = client.post(f"{API}/people", json=person_json(id_number=number, name="另一个名字"),
                        headers=bearer(token))
    assert_problem(again, 409, "duplicate_person")
    assert _written(session) == before
    other_firm = client.post(f"{API}/people", json=person_json(id_number=number), headers=bearer(nanshan_token))
    assert other_firm.status_code == 201  # one person may work for two firms


def test_a_hong_kong_identity_card_with_brackets_is_accepted_and_masked(client, session, two_firms):
    _, token, _, _ = two_firms
    response = client.post(f"{API}/people", headers=bearer(token), json=person_json(
        kind="cross_border_driver", id_type="hk_id", id_number="a123456(3)", phone="+852 9123 4567"))
    assert response.status_code == 201
    body = response.get_json()
    assert (body["id_type"], body["id_number"], body["phone"]) == ("hk_id", "A1****63", "+852 ****4567")
    found = client.get(f"{API}/people", query_string={"id_type": "hk_id", "id_number": "A1234563"},
                       headers=bearer(token)).get_json()
    assert [p["id"] for p in found] == [body["id"]]


def test_a_regulator_finds_exactly_one_person_by_identity_number(client, session, areas, cipher, now,
                                                                 two_firms):
    futian, futian_token, nanshan, _ = two_firms
    people = [make_person(session, areas, cipher, now, firm_id=futian.id, id_number=number)
              for number in RESIDENT_IDS[:3]]
    make_person(session, areas, cipher, now, firm_id=nanshan.id, id_number=RESIDENT_IDS[1])
    regulator = make_token(session, areas, now, Role.REGULATOR, area_code="440304")

    def search(token, **query):
        response = client.get(f"{API}/people", query_string=query, headers=bearer(token))
        assert response.status_code == 200, response.get_json()
        return [p["id"] for p in response.get_json()]

    assert search(regulator, id_type="cn_resident_id", id_number=RESIDENT_IDS[1].lower()) == [people[1].id]
    assert search(regulator, id_type="cn_resident_id", id_number=RESIDENT_IDS[3]) == []
    assert search(regulator, id_type="hk_id", id_number=RESIDENT_IDS[1]) == []
    assert search(regulator, id_type="cn_resident_id", id_number="not a number") == []
    assert search(futian_token) == [p.id for p in people]
    auditor = make_token(session, areas, now, Role.AUDITOR)
    assert len(search(auditor, id_type="cn_resident_id", id_number=RESIDENT_IDS[1])) == 2
    assert "id_type" in assert_problem(client.get(f"{API}/people", query_string={
        "id_number": RESIDENT_IDS[1]}, headers=bearer(regulator)), 422)["errors"]


def test_the_clear_identity_number_and_phone_are_stored_and_logged_nowhere(client, session, two_firms):
    _, token, _, _ = two_firms
    number, phone = "11010519491231002X", "13900139000"
    response = client.post(f"{API}/people", headers=bearer(token),
                           json=person_json(id_number=number.lower(), phone=phone))
    assert response.get_json()["id_number"] == "1101**********002X"
    [row] = fetch(session, text("SELECT * FROM people")).mappings().all()
    secrets = (number, number.lower(), number[4:14], phone, phone[3:7] + phone[7:])
    for column, value in row.items():
        assert not any(s in as_text(value) for s in secrets), column
    for entry in audit_rows(session):
        assert not any(s in as_text(entry.changes) for s in secrets), entry.action


def test_another_firms_person_is_forbidden_and_an_unknown_one_is_404(client, session, areas, cipher, now,
                                                                      two_firms):
    _, futian_token, nanshan, _ = two_firms
    person = make_person(session, areas, cipher, now, firm_id=nanshan.id)
    assert_problem(client.get(f"{API}/people/{person.id}", headers=bearer(futian_token)), 403)
    assert client.get(f"{API}/people", headers=bearer(futian_token)).get_json() == []
    assert_problem(client.get(f"{API}/people/999", headers=bearer(futian_token)), 404, "person_not_found")


def test_a_regulator_suspends_and_reinstates_a_person_with_a_reason(client, session, areas, cipher, now,
                                                                   two_firms):
    futian, futian_token, _, _ = two_firms
    person = make_person(session, areas, cipher, now, firm_id=futian.id)
    regulator = make_token(session, areas, now, Role.REGULATOR, area_code="440304")
    url = f"{API}/people/{person.id}"
    suspended = client.post(f"{url}/suspend", json={"reason": "核酸检测阳性"}, headers=bearer(regulator))
    assert suspended.status_code == 200 and suspended.get_json()["status"] == "suspended"
    assert fetch(session, select(Person.status).where(Person.id == person.id)).scalar_one() is EntryStatus.SUSPENDED
    assert_problem(client.post(f"{url}/suspend", json={"reason": "again"}, headers=bearer(regulator)), 409)
    reinstated = client.post(f"{url}/reinstate", json={"reason": "复检阴性"}, headers=bearer(regulator))
    assert reinstated.get_json()["status"] == "active"
    entries = audit_rows(session, object_type="person", object_id=person.id)
    assert [(e.action, e.changes.get("status"), e.changes.get("reason")) for e in entries] == [
        ("person.registered", None, None), ("person.suspended", ["active", "suspended"], "核酸检测阳性"),
        ("person.reinstated", ["suspended", "active"], "复检阴性")]
    assert entries[1].actor_role == "regulator"


def test_a_firm_may_not_suspend_its_own_people_and_a_reason_is_required(client, session, areas, cipher, now,
                                                                       two_firms):
    futian, futian_token, _, _ = two_firms
    person = make_person(session, areas, cipher, now, firm_id=futian.id)
    outsider = make_token(session, areas, now, Role.REGULATOR, area_code="440305")
    regulator = make_token(session, areas, now, Role.REGULATOR, area_code="440304004")
    url = f"{API}/people/{person.id}/suspend"
    assert_problem(client.post(url, json={"reason": "x"}, headers=bearer(futian_token)), 403)
    assert_problem(client.post(url, json={"reason": "x"}, headers=bearer(outsider)), 403)
    assert "reason" in assert_problem(client.post(url, json={}, headers=bearer(regulator)), 422)["errors"]
    assert fetch(session, select(Person.status).where(Person.id == person.id)).scalar_one() is EntryStatus.ACTIVE


def test_a_blank_reason_is_refused(client, session, areas, cipher, now, two_firms):
    futian, _, _, _ = two_firms
    person = make_person(session, areas, cipher, now, firm_id=futian.id)
    regulator = make_token(session, areas, now, Role.REGULATOR, area_code="440304")
    response = client.post(f"{API}/people/{person.id}/suspend", json={"reason": "   "}, headers=bearer(regulator))
    assert "reason" in assert_problem(response, 422)["errors"]


def test_a_blank_name_is_refused(client, session, two_firms):
    _, token, _, _ = two_firms
    response = client.post(f"{API}/people", json=person_json(name="   "), headers=bearer(token))
    assert list(assert_problem(response, 422)["errors"]) == ["name"]
    assert count(session, Person) == 0


@pytest.mark.parametrize("payload", [{"firm_id": 2**31}, {"firm_id": 10**30}, {"firm_id": "one"},
                                     {"name": "李\x00四"}, {"kind": "pilot"}, {"id_type": "ssn"}])
def test_a_wrong_value_is_a_422_not_a_500(client, session, areas, now, two_firms, payload):
    regulator = make_token(session, areas, now, Role.REGULATOR, area_code="440300")
    response = client.post(f"{API}/people", json=person_json(**{"firm_id": two_firms[0].id, **payload}),
                           headers=bearer(regulator))
    assert list(assert_problem(response, 422)["errors"]) == list(payload)
    assert count(session, Person) == 0


# ---- vehicles --------------------------------------------------------------------------------------

def _add_vehicle(client, token, **payload):
    return client.post(f"{API}/vehicles", json={"kind": "van", **payload}, headers=bearer(token))


@pytest.mark.parametrize("typed,stored", [("粤b·12345", "粤B12345"), (" 粤B 12345 ", "粤B12345"),
                                          ("粤bd12345", "粤BD12345"), ("粤Ｂ．１２３４５", "粤B12345")])
def test_a_plate_is_normalised_before_it_is_stored(client, session, two_firms, typed, stored):
    futian, token, _, _ = two_firms
    response = _add_vehicle(client, token, plate=typed)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["plate"], body["hk_plate"], body["firm_id"], body["status"]) == (stored, None, futian.id, "active")
    assert fetch(session, select(Vehicle.plate)).scalar_one() == stored
    [entry] = audit_rows(session, object_type="vehicle", object_id=body["id"])
    assert (entry.action, entry.changes["plate"]) == ("vehicle.registered", stored)


@pytest.mark.parametrize("plate", ["粤I12345", "粤O12345", "粤B1234", "粤B123456", "QQ1234", "ABCDEFGHJK"])
def test_an_invalid_plate_is_a_422(client, session, two_firms, plate):
    response = _add_vehicle(client, two_firms[1], plate=plate)
    assert list(assert_problem(response, 422)["errors"]) == ["plate"]
    assert count(session, Vehicle) == 0


def test_a_duplicate_plate_is_a_409_however_it_is_typed(client, session, areas, now, two_firms):
    futian, token, _, nanshan_token = two_firms
    make_vehicle(session, areas, now, firm_id=futian.id, plate="粤B12345")
    before = _written(session)
    for typed in ("粤B12345", "粤b-12345"):
        assert_problem(_add_vehicle(client, nanshan_token, plate=typed), 409, "duplicate_plate")
    assert _written(session) == before


def test_a_cross_border_vehicle_needs_its_hong_kong_mark(client, session, two_firms):
    _, token, _, nanshan_token = two_firms
    missing = _add_vehicle(client, token, plate="粤Z1234港", kind="truck")
    assert list(assert_problem(missing, 422)["errors"]) == ["hk_plate"]
    assert count(session, Vehicle) == 0
    response = _add_vehicle(client, token, plate="粤Z1234港", hk_plate="fv 1234", kind="truck")
    assert response.status_code == 201
    assert (response.get_json()["plate"], response.get_json()["hk_plate"]) == ("粤Z1234港", "FV1234")
    assert_problem(_add_vehicle(client, nanshan_token, plate="FV1234"), 409, "duplicate_plate")
    bad_mark = _add_vehicle(client, token, plate="粤Z5678港", hk_plate="IO1234", kind="truck")
    assert list(assert_problem(bad_mark, 422)["errors"]) == ["hk_plate"]


def test_vehicles_are_listed_by_plate_within_what_the_caller_may_see(client, session, areas, now, two_firms):
    futian, futian_token, nanshan, _ = two_firms
    van = make_vehicle(session, areas, now, firm_id=futian.id, plate="粤B12345")
    truck = make_vehicle(session, areas, now, firm_id=futian.id, plate="粤Z1234港", hk_plate="FV1234",
                         kind=VehicleKind.TRUCK)
    make_vehicle(session, areas, now, firm_id=nanshan.id, plate="粤B54321")

    def plates(token, **query):
        return [v["id"] for v in client.get(f"{API}/vehicles", query_string=query, headers=bearer(token)).get_json()]

    assert plates(futian_token, plate="粤b·12345") == [van.id]
    assert plates(futian_token, plate="fv1234") == [truck.id]
    assert plates(futian_token, plate="粤B54321") == []  # another firm's vehicle
    assert plates(futian_token) == [van.id, truck.id]
    auditor = make_token(session, areas, now, Role.AUDITOR)
    assert len(plates(auditor)) == 3


def test_a_firm_may_not_add_or_suspend_vehicles_of_another_firm(client, session, areas, now, two_firms):
    futian, token, nanshan, _ = two_firms
    assert_problem(_add_vehicle(client, token, plate="粤B12345", firm_id=nanshan.id), 403)
    vehicle = make_vehicle(session, areas, now, firm_id=futian.id)
    assert_problem(client.post(f"{API}/vehicles/{vehicle.id}/suspend", json={"reason": "x"},
                               headers=bearer(token)), 403)
    regulator = make_token(session, areas, now, Role.REGULATOR, area_code="440304")
    suspended = client.post(f"{API}/vehicles/{vehicle.id}/suspend", json={"reason": "年检过期"},
                            headers=bearer(regulator))
    assert suspended.get_json()["status"] == "suspended"
    assert audit_rows(session, object_type="vehicle", object_id=vehicle.id)[-1].changes == {
        "status": ["active", "suspended"], "reason": "年检过期"}

