"""PATCH /people/ID and /vehicles/ID (corrections that keep the identity), and the `q` search of both lists."""
import pytest

from core.accounts import SYSTEM, Role
from tests.api.helpers import API, assert_problem, audit_rows, uscc
from tests.factories import RESIDENT_IDS, bearer, make_firm, make_person, make_token, make_vehicle
from whitelist.models import PersonKind
from whitelist.services import change_firm_status


@pytest.fixture
def world(session, areas, cipher, now):
    firm, token = make_firm(session, areas, now)
    other, other_token = make_firm(session, areas, now, uscc=uscc("MA5G0001"), area_code="440305", name="南山物流")
    person = make_person(session, areas, cipher, now, firm_id=firm.id)
    vehicle = make_vehicle(session, areas, now, firm_id=firm.id)
    return firm, token, person, vehicle, other_token


def test_a_firm_corrects_its_drivers_name_and_phone_and_the_audit_keeps_both_masked(client, session, world):
    firm, token, person, _, _ = world
    response = client.patch(f"{API}/people/{person.id}", json={"name": " 李大师傅 ", "phone": "13700137000"},
                            headers=bearer(token))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["name"], body["phone"], body["id_number"]) == ("李大师傅", "+86 137****7000", "4403**********0009")
    (entry,) = audit_rows(session, action="person.updated")
    assert entry.changes == {"name": ["李师傅", "李大师傅"], "phone": ["+86 139****9000", "+86 137****7000"]}


def test_the_identity_number_cannot_be_patched_and_an_empty_patch_is_refused(client, session, world):
    _, token, person, _, _ = world
    body = assert_problem(client.patch(f"{API}/people/{person.id}", json={"id_number": RESIDENT_IDS[1]},
                                       headers=bearer(token)), 422)
    assert "id_number" in body["errors"]
    assert assert_problem(client.patch(f"{API}/people/{person.id}", json={}, headers=bearer(token)), 422)["errors"] == {
        "name": ["give name or phone"]}
    assert audit_rows(session, action="person.updated") == []


def test_the_same_values_again_write_no_audit_entry(client, session, world):
    _, token, person, _, _ = world
    response = client.patch(f"{API}/people/{person.id}", json={"name": "李师傅", "phone": "+86 13900139000"},
                            headers=bearer(token))
    assert response.status_code == 200 and audit_rows(session, action="person.updated") == []


def test_another_firm_a_stranger_and_a_suspended_firm_cannot_patch(client, session, areas, now, world):
    firm, token, person, vehicle, other_token = world
    assert_problem(client.patch(f"{API}/people/{person.id}", json={"name": "x"}, headers=bearer(other_token)), 403)
    assert_problem(client.patch(f"{API}/vehicles/{vehicle.id}", json={"kind": "truck"}, headers=bearer(other_token)), 403)
    assert_problem(client.patch(f"{API}/people/999999", json={"name": "x"}, headers=bearer(token)), 404, "person_not_found")
    auditor = make_token(session, areas, now, Role.AUDITOR)
    assert_problem(client.patch(f"{API}/people/{person.id}", json={"name": "x"}, headers=bearer(auditor)), 403)
    change_firm_status(session, firm.id, "suspend", actor=SYSTEM, areas=areas, now=now, reason="检查")
    assert_problem(client.patch(f"{API}/people/{person.id}", json={"name": "x"}, headers=bearer(token)), 409,
                   "firm_suspended")
    assert audit_rows(session, action="person.updated") == []


def test_a_vehicles_kind_can_be_corrected_but_not_its_plate(client, session, world):
    _, token, _, vehicle, _ = world
    response = client.patch(f"{API}/vehicles/{vehicle.id}", json={"kind": "truck"}, headers=bearer(token))
    assert response.status_code == 200 and response.get_json()["kind"] == "truck"
    assert audit_rows(session, action="vehicle.updated")[0].changes == {"kind": ["van", "truck"]}
    body = assert_problem(client.patch(f"{API}/vehicles/{vehicle.id}", json={"kind": "truck", "plate": "粤B99999"},
                                       headers=bearer(token)), 422)
    assert "plate" in body["errors"]


def test_q_finds_people_by_name_part_or_last_id_digits_and_vehicles_by_plate_part(client, session, areas, cipher,
                                                                                  now, world):
    firm, token, _, _, other_token = world
    make_person(session, areas, cipher, now, firm_id=firm.id, name="张_快递", kind=PersonKind.COURIER,
                id_number=RESIDENT_IDS[1])
    make_vehicle(session, areas, now, firm_id=firm.id, plate="粤B54321")

    def names(q, who=token):
        response = client.get(f"{API}/people", query_string={"q": q}, headers=bearer(who))
        assert response.status_code == 200, response.get_json()
        return sorted(p["name"] for p in response.get_json())

    assert names("师傅") == ["李师傅"] and names("002x") == ["张_快递"] and names("0009") == ["李师傅"]
    assert names("_") == ["张_快递"] and names("%") == []  # LIKE wildcards are literal
    assert names("师傅", other_token) == []  # another firm's people stay invisible

    def plates(q):
        return sorted(v["plate"] for v in client.get(f"{API}/vehicles", query_string={"q": q},
                                                     headers=bearer(token)).get_json())
    assert plates("b 54") == ["粤B54321"] and plates("粤B") == ["粤B12345", "粤B54321"] and plates("%") == []
