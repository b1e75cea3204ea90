"""One-by-one approval and bulk decisions issue through the same code (passes.issuance): the same QR, audit
entries, counters and refusals, with a fixed number of statements."""
import pytest
from sqlalchemy import event, select

from core import audit, counters, keys
from core.accounts import SYSTEM, Actor, Role
from passes import decisions, issuance, services
from passes.errors import DriverTestedPositive, NotWhitelisted
from passes.format import issue_qr_text, read_qr_text
from passes.models import PassStatus, VehiclePass
from whitelist import services as whitelist_services
from whitelist.models import EntryStatus

from tests.factories import make_firm, make_person, make_vehicle, pass_data, record_negative_test

CITY = Actor(90, "city regulator", Role.REGULATOR, area_code="440300")


@pytest.fixture
def fleet(session, areas, cipher, now):
    firm, _ = make_firm(session, areas, now)
    driver = make_person(session, areas, cipher, now, firm_id=firm.id)
    record_negative_test(session, cipher, now)
    return firm, driver, Actor(92, "firm", Role.FIRM, firm_id=firm.id)


def _pending(session, areas, now, fleet, plate: str, **overrides) -> VehiclePass:
    firm, driver, actor = fleet
    van = make_vehicle(session, areas, now, firm_id=firm.id, plate=plate)
    return services.apply_for_pass(session, data=pass_data(vehicle_id=van.id, driver_ids=[driver.id], now=now,
                                                           **overrides), actor=actor, areas=areas, max_days=7, now=now)


def _approved_entry(session, pass_id: str) -> audit.AuditEntry:
    return session.scalars(select(audit.AuditEntry).where(audit.AuditEntry.object_id == pass_id,
                                                          audit.AuditEntry.action == "pass.approved")).one()


def test_one_by_one_and_bulk_store_the_same_pass_qr_and_audit_entry(session, areas, ring, now, fleet):
    one = _pending(session, areas, now, fleet, "粤B00001", scope=["440304001", "440304002"])
    bulk = _pending(session, areas, now, fleet, "粤B00002", scope=["440304001", "440304002"])
    services.approve_pass(session, one.id, actor=CITY, areas=areas, ring=ring, now=now)
    [decided] = decisions.decide_passes(session, ids=[bulk.id], filters=None, action=decisions.Action.APPROVE,
                                        reason=None, confirm=False, actor=CITY, areas=areas, ring=ring, now=now)
    assert (decided.outcome, decided.serial) == (decisions.Outcome.APPROVED, 1)
    signer = keys.active_signer(session, ring, actor=SYSTEM, now=now)
    trusted = {kid: k.public_key for kid, k in keys.trusted_keys(session).items()}
    for pass_id, serial in ((one.id, 0), (bulk.id, 1)):
        stored = session.get(VehiclePass, pass_id)
        assert (stored.status, stored.serial, stored.kid, stored.suspension_cause) == (
            PassStatus.ACTIVE, serial, signer.kid.hex(), None)
        assert stored.approved_at == stored.updated_at == now
        # Ed25519 is deterministic: the stored QR is exactly the signature of the stored pass's claims.
        assert stored.qr == issue_qr_text(signer, issuance.claims_of(stored))
        assert read_qr_text(stored.qr, trusted)[1].scope == (440304001, 440304002)
        entry = _approved_entry(session, pass_id)
        assert (entry.object_type, entry.changes, entry.actor_name) == (
            "pass", {"serial": serial, "kid": signer.kid.hex()}, CITY.name)
    assert audit.verify_chain(session) is None


def test_the_returned_pass_is_the_sessions_copy_with_the_new_values_and_nothing_to_flush(session, areas, ring, now,
                                                                                          fleet):
    vpass = _pending(session, areas, now, fleet, "粤B00003")
    approved = services.approve_pass(session, vpass.id, actor=CITY, areas=areas, ring=ring, now=now)
    assert approved is vpass
    assert (approved.status, approved.serial, approved.reported_status) == (PassStatus.ACTIVE, 0, PassStatus.ACTIVE)
    assert approved.driver_ids == [fleet[1].id] and approved.qr.startswith("GL1:")
    assert not session.dirty
    session.expire_all()
    assert (session.get(VehiclePass, vpass.id).qr, session.get(VehiclePass, vpass.id).serial) == (approved.qr, 0)


def test_an_approval_bumps_the_status_list_and_the_passes_cache_versions(session, areas, ring, now, fleet):
    vpass = _pending(session, areas, now, fleet, "粤B00004")
    session.commit()
    before = {name: counters.current_value(session, name)
              for name in (counters.STATUS_LIST_VERSION, counters.PASSES_VERSION)}
    services.approve_pass(session, vpass.id, actor=CITY, areas=areas, ring=ring, now=now)
    session.expire_all()
    assert {name: counters.current_value(session, name) for name in before} == {
        name: value + 1 for name, value in before.items()}


def test_a_vehicle_status_change_moves_the_passes_version_the_approval_rules_read_under(session, areas, now, fleet):
    van = make_vehicle(session, areas, now, firm_id=fleet[0].id, plate="粤B00008")
    session.commit()
    before = counters.current_value(session, counters.PASSES_VERSION)
    whitelist_services.set_vehicle_status(session, van.id, EntryStatus.SUSPENDED, actor=SYSTEM, areas=areas,
                                          reason="test", now=now)  # no active pass names it: no pass changes
    session.expire_all()
    assert counters.current_value(session, counters.PASSES_VERSION) == before + 1


def _statements(app, run) -> list[str]:
    seen = []

    def count(_conn, _cursor, statement, *_args):
        if not statement.startswith("BEGIN"):  # SQLite's explicit BEGIN IMMEDIATE
            seen.append(statement)

    engine = app.extensions["db"].engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        run()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return seen


def test_an_approval_takes_nine_statements_and_a_batch_one_more(app, session, areas, ring, now, fleet):
    first = _pending(session, areas, now, fleet, "粤B00005")
    services.approve_pass(session, first.id, actor=CITY, areas=areas, ring=ring, now=now)  # the key exists now
    one = _pending(session, areas, now, fleet, "粤B00006")
    # The pass, the firm, vehicle and drivers, the positive drivers, the key, the serial block with the
    # status-list version, the update, the audit head and entry, the passes cache version at commit.
    assert len(_statements(app, lambda: services.approve_pass(session, one.id, actor=CITY, areas=areas, ring=ring,
                                                              now=now))) == 9
    three = [_pending(session, areas, now, fleet, f"粤B0001{i}").id for i in range(3)]
    # confirm: no separate check of the whole request first; the batch's own statements only.
    assert len(_statements(app, lambda: decisions.decide_passes(
        session, ids=three, filters=None, action=decisions.Action.APPROVE, reason=None, confirm=True, actor=CITY,
        areas=areas, ring=ring, now=now))) == 10  # the batch's drivers are read apart from its passes


def test_without_confirm_a_batch_is_checked_once_when_nothing_changed_since(app, session, areas, ring, now, fleet):
    services.approve_pass(session, _pending(session, areas, now, fleet, "粤B00020").id, actor=CITY, areas=areas,
                          ring=ring, now=now)  # the key exists now
    three = [_pending(session, areas, now, fleet, f"粤B0002{i}").id for i in range(1, 4)]
    seen = _statements(app, lambda: decisions.decide_passes(
        session, ids=three, filters=None, action=decisions.Action.APPROVE, reason=None, confirm=False, actor=CITY,
        areas=areas, ring=ring, now=now))
    # The version and the check (5), then the batch: its row locks (PostgreSQL; SQLite's transaction holds
    # the write lock) and the version again instead of the check, and the writes of a confirmed batch (6).
    locks = 0 if app.extensions["db"].engine.dialect.name == "sqlite" else 1
    assert len(seen) == 5 + locks + 1 + 6
    assert {session.get(VehiclePass, pid).status for pid in three} == {PassStatus.ACTIVE}
    assert audit.verify_chain(session) is None


def _between_batches(monkeypatch, change):
    """Run `change` once, after the whole request was checked and the first batch decided."""
    real, calls = decisions._decide_batch, []

    def decide_batch(session, batch, *args, **kwargs):
        calls.append(batch)
        if len(calls) == 2:
            change()
        return real(session, batch, *args, **kwargs)

    monkeypatch.setattr(decisions, "BATCH", 1)
    monkeypatch.setattr(decisions, "_decide_batch", decide_batch)


def test_a_vehicle_suspended_after_the_check_refuses_its_pass_in_a_later_batch(monkeypatch, session, areas, ring,
                                                                                 now, fleet):
    early, late = _pending(session, areas, now, fleet, "粤B00031"), _pending(session, areas, now, fleet, "粤B00032")
    _between_batches(monkeypatch, lambda: whitelist_services.set_vehicle_status(
        session, late.vehicle_id, EntryStatus.SUSPENDED, actor=SYSTEM, areas=areas, reason="test", now=now))
    decided = decisions.decide_passes(session, ids=[early.id, late.id], filters=None,
                                      action=decisions.Action.APPROVE, reason=None, confirm=False, actor=CITY,
                                      areas=areas, ring=ring, now=now)
    assert [(d.outcome, d.reason) for d in decided] == [
        (decisions.Outcome.APPROVED, None),
        (decisions.Outcome.REFUSED, "not_cleared: vehicle_id the vehicle is suspended")]
    assert session.get(VehiclePass, late.id).status is PassStatus.PENDING


def test_a_pass_approved_after_the_check_is_refused_in_its_batch_not_approved_twice(monkeypatch, session, areas,
                                                                                   ring, now, fleet):
    early, late = _pending(session, areas, now, fleet, "粤B00033"), _pending(session, areas, now, fleet, "粤B00034")
    _between_batches(monkeypatch, lambda: services.approve_pass(session, late.id, actor=CITY, areas=areas, ring=ring,
                                                                now=now))
    decided = decisions.decide_passes(session, ids=[early.id, late.id], filters=None,
                                      action=decisions.Action.APPROVE, reason=None, confirm=False, actor=CITY,
                                      areas=areas, ring=ring, now=now)
    assert [(d.outcome, d.reason) for d in decided] == [
        (decisions.Outcome.APPROVED, None), (decisions.Outcome.REFUSED, "not_pending: the pass is active")]
    assert len(session.scalars(select(audit.AuditEntry).where(audit.AuditEntry.object_id == late.id,
                                                              audit.AuditEntry.action == "pass.approved")).all()) == 1
    assert audit.verify_chain(session) is None


def test_both_paths_refuse_a_suspended_driver_alike(session, areas, ring, now, fleet):
    vpass = _pending(session, areas, now, fleet, "粤B00007")
    driver = fleet[1]
    whitelist_services.set_person_status(session, driver.id, EntryStatus.SUSPENDED, actor=SYSTEM, areas=areas,
                                         reason="test", now=now)
    with pytest.raises(NotWhitelisted) as single:
        services.approve_pass(session, vpass.id, actor=CITY, areas=areas, ring=ring, now=now)
    assert not isinstance(single.value, DriverTestedPositive)
    assert (single.value.message, single.value.fields) == (
        "the vehicle or a driver is not cleared", {"driver_ids": [f"{driver.id}: suspended"]})
    with pytest.raises(decisions.DecisionsRefused) as bulk:
        decisions.decide_passes(session, ids=[vpass.id], filters=None, action=decisions.Action.APPROVE, reason=None,
                                confirm=False, actor=CITY, areas=areas, ring=ring, now=now)
    assert bulk.value.members["refused"] == [{"id": vpass.id, "reason": f"not_cleared: driver_ids {driver.id}: suspended"}]
    assert session.get(VehiclePass, vpass.id).status is PassStatus.PENDING
