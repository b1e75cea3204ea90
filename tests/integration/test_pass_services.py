import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from core import keys
from core.accounts import SYSTEM, Actor, Role
from core.errors import Forbidden, InvalidState
from core.signing import verify
from checkpoints.status_list import signed_status_list
from passes import services
from passes.errors import NotWhitelisted, OverlappingPass
from passes.format import read_qr_text
from passes.models import PassStatus, VehiclePass
from passes.statuslist import decode_status_payload
from whitelist import services as whitelist_services
from whitelist.models import EntryStatus

from tests.factories import make_firm, make_person, make_vehicle, pass_data, record_negative_test

CITY = Actor(90, "city regulator", Role.REGULATOR, area_code="440300")
FUTIAN = Actor(91, "futian regulator", Role.REGULATOR, area_code="440304")


@pytest.fixture
def fleet(session, areas, cipher, now):
    """An approved firm with one driver and one van, and the firm's actor."""
    firm, _ = make_firm(session, areas, now)
    driver = make_person(session, areas, cipher, now, firm_id=firm.id)
    record_negative_test(session, cipher, now)
    van = make_vehicle(session, areas, now, firm_id=firm.id)
    return firm, driver, van, Actor(92, "firm", Role.FIRM, firm_id=firm.id)


def _apply(session, areas, now, fleet, **overrides):
    firm, driver, van, actor = fleet
    return services.apply_for_pass(session, data=pass_data(vehicle_id=van.id, driver_ids=[driver.id], now=now,
                                                           **overrides),
                                   actor=actor, areas=areas, max_days=7, now=now)


def _trusted(session):
    return {kid: k.public_key for kid, k in keys.trusted_keys(session).items()}


def test_an_approved_pass_is_signed_and_its_qr_verifies(session, areas, ring, now, fleet):
    vpass = _apply(session, areas, now, fleet, scope=["440304001", "440304002"])
    approved = services.approve_pass(session, vpass.id, actor=FUTIAN, areas=areas, ring=ring, now=now)
    kid, claims = read_qr_text(approved.qr, _trusted(session))
    assert kid.hex() == approved.kid
    assert (claims.pass_id, claims.serial, claims.plate, claims.scope) == (
        vpass.id, 0, "粤B12345", (440304001, 440304002))
    assert claims.valid_until == int(vpass.valid_until.timestamp())


def test_serials_are_handed_out_in_order_from_zero(session, areas, ring, now, fleet):
    firm, driver, _, actor = fleet
    serials = []
    for i, plate in enumerate(["粤B00001", "粤B00002", "粤B00003"]):
        van = make_vehicle(session, areas, now, firm_id=firm.id, plate=plate)
        vpass = _apply(session, areas, now, (firm, driver, van, actor))
        serials.append(services.approve_pass(session, vpass.id, actor=CITY, areas=areas, ring=ring, now=now).serial)
    assert serials == [0, 1, 2]


def test_a_district_regulator_cannot_approve_a_scope_reaching_outside_its_district(session, areas, ring, now, fleet):
    vpass = _apply(session, areas, now, fleet, scope=["440304001", "440305"])
    with pytest.raises(Forbidden):
        services.approve_pass(session, vpass.id, actor=FUTIAN, areas=areas, ring=ring, now=now)
    assert session.get(VehiclePass, vpass.id).status is PassStatus.PENDING


def test_an_overlapping_application_for_the_same_vehicle_is_a_conflict(session, areas, now, fleet):
    _apply(session, areas, now, fleet)
    with pytest.raises(OverlappingPass):
        _apply(session, areas, now, fleet, valid_from=now + timedelta(days=1))
    later = _apply(session, areas, now, fleet, valid_from=now + timedelta(days=3), days=5)
    assert later.status is PassStatus.PENDING


def test_a_suspended_driver_blocks_application_and_approval(session, areas, ring, now, fleet):
    firm, driver, van, actor = fleet
    vpass = _apply(session, areas, now, fleet)
    whitelist_services.set_person_status(session, driver.id, EntryStatus.SUSPENDED, actor=SYSTEM, areas=areas,
                                         reason="test", now=now)
    with pytest.raises(NotWhitelisted):
        services.approve_pass(session, vpass.id, actor=CITY, areas=areas, ring=ring, now=now)
    assert session.get(VehiclePass, vpass.id).serial is None


def test_suspending_a_firm_suspends_its_passes_and_reinstating_lifts_only_those(session, areas, ring, now, fleet):
    firm, driver, _, actor = fleet
    first = services.approve_pass(session, _apply(session, areas, now, fleet).id, actor=CITY, areas=areas, ring=ring,
                                  now=now)
    van2 = make_vehicle(session, areas, now, firm_id=firm.id, plate="粤B99999")
    second = _apply(session, areas, now, (firm, driver, van2, actor))
    services.approve_pass(session, second.id, actor=CITY, areas=areas, ring=ring, now=now)
    services.change_pass_status(session, second.id, "suspend", actor=CITY, areas=areas, reason="spot check", now=now)
    whitelist_services.change_firm_status(session, firm.id, "suspend", actor=CITY, areas=areas, now=now)
    assert session.get(VehiclePass, first.id).status is PassStatus.SUSPENDED
    whitelist_services.change_firm_status(session, firm.id, "reinstate", actor=CITY, areas=areas, now=now)
    assert session.get(VehiclePass, first.id).status is PassStatus.ACTIVE
    assert session.get(VehiclePass, second.id).status is PassStatus.SUSPENDED


def test_the_status_list_marks_suspended_and_revoked_serials(session, areas, ring, now, fleet):
    firm, driver, _, actor = fleet
    ids = []
    for plate in ["粤B00001", "粤B00002", "粤B00003"]:
        van = make_vehicle(session, areas, now, firm_id=firm.id, plate=plate)
        vpass = _apply(session, areas, now, (firm, driver, van, actor))
        ids.append(services.approve_pass(session, vpass.id, actor=CITY, areas=areas, ring=ring, now=now).id)
    services.change_pass_status(session, ids[1], "suspend", actor=CITY, areas=areas, reason="check", now=now)
    services.change_pass_status(session, ids[2], "revoke", actor=CITY, areas=areas, reason="fraud", now=now)
    version, document = signed_status_list(session, ring=ring, cache={}, areas=areas, actor=SYSTEM, now=now)
    status_list = decode_status_payload(verify(document, _trusted(session), max_size=1 << 20)[1])
    assert [status_list.status(s) for s in range(3)] == [0, 1, 2]
    assert status_list.version == version == 1  # the first distinct content published


def test_key_rotation_keeps_old_passes_valid_and_revocation_is_visible(session, areas, ring, now, fleet):
    firm, driver, _, actor = fleet
    old = services.approve_pass(session, _apply(session, areas, now, fleet).id, actor=CITY, areas=areas, ring=ring,
                                now=now)
    keys.rotate_key(session, ring, actor=SYSTEM, now=now)
    van2 = make_vehicle(session, areas, now, firm_id=firm.id, plate="粤B99999")
    new = services.approve_pass(session, _apply(session, areas, now, (firm, driver, van2, actor)).id, actor=CITY,
                                areas=areas, ring=ring, now=now)
    assert new.kid != old.kid
    read_qr_text(old.qr, _trusted(session))  # still verifies
    keys.revoke_key(session, old.kid, actor=SYSTEM, now=now, reason="leak")
    statuses = {kid.hex(): k.status for kid, k in keys.trusted_keys(session).items()}
    assert statuses == {old.kid: keys.KeyStatus.REVOKED, new.kid: keys.KeyStatus.ACTIVE}
    with pytest.raises(InvalidState):
        keys.revoke_key(session, old.kid, actor=SYSTEM, now=now, reason="again")


def test_concurrent_approvals_issue_exactly_one_pass(app, session, areas, ring, now, fleet):
    vpass = _apply(session, areas, now, fleet)
    outcomes = []

    def approve():
        with app.app_context():
            own = app.extensions["db"].sessionmaker()
            try:
                services.approve_pass(own, vpass.id, actor=CITY, areas=areas, ring=ring, now=now)
                outcomes.append("approved")
            except InvalidState:
                outcomes.append("conflict")
            finally:
                own.close()

    threads = [threading.Thread(target=approve) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["approved"] + ["conflict"] * 5
    assert session.scalar(select(func.count()).select_from(VehiclePass).where(VehiclePass.serial.is_not(None))) == 1
