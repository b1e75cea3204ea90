"""An attacker's review, tenant boundaries by id: a firm, a regulator, a yard or an officer naming another
tenant's object by its id, on every route that takes one. Each attempt is refused (403/404 problem+json),
shows none of the other tenant's data, and writes nothing."""
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from core.audit import AuditEntry
from tests.api.helpers import API, csv_body, csv_row
from tests.api.logistics_helpers import HK_ID, booking_json, build_relay, clock

HK_SECRETS = ("陳大文", "粤Z1234港", "FV1234", HK_ID, "A123456")  # the HK firm's driver and tractor


@pytest.fixture
def relay(session, areas, cipher, app):
    return build_relay(session, areas, cipher, app.extensions["keyring"], clock())


def _audit_count(session) -> int:
    session.rollback()  # a fresh snapshot: SQLite would otherwise keep showing the first count
    return session.scalar(select(func.count()).select_from(AuditEntry))


def _refused(response, *statuses):
    assert response.status_code in (statuses or (403, 404)), (response.status_code, response.get_data(as_text=True))
    assert response.mimetype == "application/problem+json"
    text = response.get_data(as_text=True)
    assert not any(secret in text for secret in HK_SECRETS), text


def _booked(client, relay) -> int:
    response = client.post(f"{API}/handovers", json=booking_json(relay), headers=relay.headers("hk_firm"))
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def test_a_firm_cannot_read_another_firms_people_vehicles_passes_or_handovers_by_id(client, relay):
    handover = _booked(client, relay)
    third = relay.headers("third_firm")
    for path in (f"/people/{relay.ids['hk_driver']}", f"/vehicles/{relay.ids['tractor']}",
                 f"/passes/{relay.pass_ids['hk']}", f"/firms/{relay.ids['hk_firm']}/users",
                 f"/handovers/{handover}", f"/handovers/{handover}/custody", f"/handovers/{handover}/custody.cose"):
        _refused(client.get(f"{API}{path}", headers=third))
    # Lists filtered by another firm's id give nothing of it either.
    for path in (f"/people?firm_id={relay.ids['hk_firm']}", f"/vehicles?firm_id={relay.ids['hk_firm']}",
                 f"/passes?firm_id={relay.ids['hk_firm']}", f"/handovers?firm_id={relay.ids['hk_firm']}"):
        response = client.get(f"{API}{path}", headers=third)
        text = response.get_data(as_text=True)
        assert response.status_code in (200, 403, 422) and not any(s in text for s in HK_SECRETS), (path, text)
        if response.status_code == 200:
            assert response.get_json() == []


def test_a_firm_cannot_change_another_firms_records_and_nothing_is_written(client, session, relay):
    handover = _booked(client, relay)
    before = _audit_count(session)
    third = relay.headers("third_firm")
    attempts = [
        ("POST", "/people", {"firm_id": relay.ids["hk_firm"], "kind": "driver", "name": "冒名 impostor",
                             "id_type": "cn_resident_id", "id_number": "440304200001010009", "phone": "+86 13900139000"}),
        ("POST", "/vehicles", {"firm_id": relay.ids["hk_firm"], "plate": "粤B77777", "kind": "van"}),
        ("POST", "/passes", {"vehicle_id": relay.ids["tractor"], "driver_ids": [relay.ids["hk_driver"]],
                             "scope": ["440304001"], "category": "vegetables", "purpose": "冒用 borrowed vehicle",
                             "valid_from": clock().isoformat(), "valid_until": (clock() + timedelta(days=1)).isoformat()},
         (422,)),  # not_whitelisted: "not of this firm", nothing about the vehicle or the driver
        ("POST", f"/firms/{relay.ids['hk_firm']}/users", {"name": "mole", "firm_role": "manager", "username": "mole",
                                                          "password": "correct horse battery staple 42"}),
        ("POST", f"/firms/{relay.ids['hk_firm']}/users/1/revoke", None),
        ("PUT", f"/handovers/{handover}/outbound", {"driver_id": relay.ids["mainland_driver"],
                                                     "vehicle_id": relay.ids["truck"]}),
    ]
    for method, path, body, *allowed in attempts:
        response = client.open(f"{API}{path}", method=method, json=body, headers=third)
        _refused(response, *(allowed[0] if allowed else (403, 404)))
    imported = client.post(f"{API}/firms/{relay.ids['hk_firm']}/people/import", headers=third,
                           data=csv_body([csv_row("440304200001010009")]), content_type="text/csv")
    _refused(imported)
    assert _audit_count(session) == before


def test_a_regulator_outside_the_area_reads_no_personal_data_there(client, relay):
    # The HK firm is in Nanshan (440305); the Futian regulator governs 440304 only.
    futian = relay.headers("futian")
    _refused(client.get(f"{API}/people/{relay.ids['hk_driver']}", headers=futian))
    _refused(client.get(f"{API}/firms/{relay.ids['hk_firm']}/users", headers=futian))
    listed = client.get(f"{API}/people?firm_id={relay.ids['hk_firm']}", headers=futian)
    assert "陳大文" not in listed.get_data(as_text=True)
    # ... while the Nanshan regulator sees the driver, with the identity number masked.
    own = client.get(f"{API}/people/{relay.ids['hk_driver']}", headers=relay.headers("nanshan"))
    assert own.status_code == 200 and "陳大文" in own.get_data(as_text=True)
    assert HK_ID not in own.get_data(as_text=True)


def test_a_yard_cannot_act_at_another_yard_and_nothing_is_written(client, session, relay):
    handover = _booked(client, relay)
    before = _audit_count(session)
    other = relay.headers("other_yard")
    _refused(client.get(f"{API}/yards/{relay.ids['yard']}/board", headers=other))
    _refused(client.get(f"{API}/handovers/{handover}", headers=other))
    arrived = {"type": "arrived_at_yard", "at": clock().isoformat(), "seals": ["HK2026001", "HK2026002"]}
    _refused(client.post(f"{API}/handovers/{handover}/events", json=arrived, headers=other), 403, 404, 409, 422)
    assert _audit_count(session) == before


def test_an_officer_is_bound_to_its_own_site(client, session, relay):
    # The officer is posted at the crossing: the yard board of a yard elsewhere is not its business.
    _refused(client.get(f"{API}/yards/{relay.ids['other_yard']}/board", headers=relay.headers("officer")))
    # A scan names no site in the body: the account's own site is used, whatever the client claims.
    before = _audit_count(session)
    scanned = client.post(f"{API}/scans", json={"qr": relay.qr["hk"], "site_id": relay.ids["checkpoint"]},
                          headers=relay.headers("officer"))
    assert scanned.status_code == 422 and "site_id" in scanned.get_json()["errors"]
    assert _audit_count(session) == before
