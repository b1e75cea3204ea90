import pytest
from sqlalchemy import func, select, text, update

from core import audit
from core.accounts import PUBLIC, SYSTEM, Actor, Role, find_account_by_token
from core.audit import AuditEntry
from core.db import Page
from core.errors import Forbidden, InvalidState
from whitelist import imports, services
from whitelist.errors import DuplicateCreditCode, DuplicatePerson, DuplicatePlate, ImportRejected
from whitelist.models import Firm, FirmStatus, Person

from tests.factories import RESIDENT_IDS, USCC, firm_data, make_firm, make_person, make_vehicle

HEADER = "kind,name,id_type,id_number,phone\n"


def _count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_an_anonymous_application_is_pending_and_gets_a_working_firm_token(session, areas, now):
    firm, token = make_firm(session, areas, now, approved=False)
    assert firm.status is FirmStatus.PENDING
    account = find_account_by_token(session, token)
    assert account is not None and account.role is Role.FIRM and account.firm_id == firm.id


def test_a_duplicate_credit_code_is_refused_and_leaves_nothing_behind(session, areas, now):
    make_firm(session, areas, now)
    entries_before = _count(session, AuditEntry)
    with pytest.raises(DuplicateCreditCode):
        make_firm(session, areas, now, name="another name")
    assert _count(session, Firm) == 1
    assert _count(session, AuditEntry) == entries_before


def test_a_regulator_cannot_register_a_firm_outside_its_area(session, areas, cipher, now):
    nanshan = Actor(9, "nanshan", Role.REGULATOR, area_code="440305")
    with pytest.raises(Forbidden):
        services.register_firm(session, data=firm_data(), actor=nanshan, areas=areas, cipher=cipher, now=now)
    assert _count(session, Firm) == 0


def test_approval_is_audited_with_the_status_change_and_reason(session, areas, now):
    firm, _ = make_firm(session, areas, now, approved=False)
    futian = Actor(9, "futian regulator", Role.REGULATOR, area_code="440304")
    services.change_firm_status(session, firm.id, "approve", actor=futian, areas=areas, now=now, reason="ok")
    entry = session.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc())).first()
    assert (entry.action, entry.actor_name, entry.object_id) == ("firm.approved", "futian regulator", str(firm.id))
    assert entry.changes == {"status": ["pending", "approved"], "reason": "ok"}


def test_approving_twice_is_an_invalid_state(session, areas, now):
    firm, _ = make_firm(session, areas, now)
    with pytest.raises(InvalidState):
        services.change_firm_status(session, firm.id, "approve", actor=SYSTEM, areas=areas, now=now)


def test_people_are_stored_encrypted_searchable_and_masked(session, areas, cipher, now):
    firm, _ = make_firm(session, areas, now)
    person = make_person(session, areas, cipher, now, firm_id=firm.id)
    raw = session.execute(text("SELECT * FROM people WHERE id = :id"), {"id": person.id}).one()
    assert not any(RESIDENT_IDS[0] in str(v) for v in raw)
    assert person.id_masked == "4403**********0009"
    assert cipher.decrypt(person.id_number_enc, purpose="id_number") == RESIDENT_IDS[0]
    found, total = services.list_people(session, actor=SYSTEM, areas=areas, cipher=cipher, page=Page(),
                                        filters={"id_type": person.id_type, "id_number": RESIDENT_IDS[0]})
    assert total == 1 and found[0].id == person.id


def test_the_same_person_twice_in_one_firm_is_a_conflict(session, areas, cipher, now):
    firm, _ = make_firm(session, areas, now)
    make_person(session, areas, cipher, now, firm_id=firm.id)
    with pytest.raises(DuplicatePerson):
        make_person(session, areas, cipher, now, firm_id=firm.id, name="other name")


def test_a_plate_is_unique_across_plate_and_hk_plate(session, areas, now):
    firm, _ = make_firm(session, areas, now)
    make_vehicle(session, areas, now, firm_id=firm.id, plate="粤Z1234港", hk_plate="FV1234")
    with pytest.raises(DuplicatePlate):
        make_vehicle(session, areas, now, firm_id=firm.id, plate="FV1234")


def test_an_import_with_one_bad_row_imports_nothing_and_reports_every_error(session, areas, cipher, now):
    firm, _ = make_firm(session, areas, now)
    body = (HEADER + f"driver,甲,cn_resident_id,{RESIDENT_IDS[0]},13800138000\n"
            "driver,乙,cn_resident_id,440304200001010000,13800138001\n"
            "pilot,丙,hk_id,A123456(3),91234567\n").encode()
    with pytest.raises(ImportRejected) as e:
        imports.import_people(session, firm.id, body, actor=SYSTEM, areas=areas, cipher=cipher, now=now)
    assert [(r["row"], r["column"]) for r in e.value.fields] == [(3, "id_number"), (4, "kind")]
    assert _count(session, Person) == 0


def test_an_import_detects_people_already_on_the_list(session, areas, cipher, now):
    firm, _ = make_firm(session, areas, now)
    make_person(session, areas, cipher, now, firm_id=firm.id)
    body = (HEADER + f"driver,甲,cn_resident_id,{RESIDENT_IDS[0]},13800138000\n").encode()
    with pytest.raises(ImportRejected) as e:
        imports.import_people(session, firm.id, body, actor=SYSTEM, areas=areas, cipher=cipher, now=now)
    assert e.value.fields == [{"row": 2, "column": "id_number", "message": "already on the firm's list"}]


def test_a_good_import_adds_everyone_with_one_audit_entry(session, areas, cipher, now):
    firm, _ = make_firm(session, areas, now)
    body = ("\ufeff" + HEADER + "".join(f"courier,人{i},cn_resident_id,{rid},1380013800{i}\n"
                                       for i, rid in enumerate(RESIDENT_IDS))).encode()
    result = imports.import_people(session, firm.id, body, actor=SYSTEM, areas=areas, cipher=cipher, now=now)
    assert result.imported == 4 and result.last_id - result.first_id == 3
    assert _count(session, Person) == 4
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "people.imported")).one()
    assert entry.changes["count"] == 4


def test_the_audit_chain_verifies_and_names_the_first_tampered_entry(session, areas, now):
    for uscc in USCC[:3]:
        make_firm(session, areas, now, uscc=uscc)
    assert audit.verify_chain(session) is None
    second = session.scalars(select(AuditEntry).where(AuditEntry.seq == 2)).one()
    session.execute(update(AuditEntry).where(AuditEntry.id == second.id).values(actor_name="someone else"))
    session.commit()
    broken = audit.verify_chain(session)
    assert broken is not None and broken.seq == 2 and "hash" in broken.problem


def test_deleting_the_last_audit_entry_is_detected(session, areas, now):
    make_firm(session, areas, now)
    session.execute(text("DELETE FROM audit_entries WHERE seq = (SELECT MAX(seq) FROM audit_entries)"))
    session.commit()
    assert audit.verify_chain(session) is not None


def test_public_search_shows_only_approved_firms(session, areas, now):
    make_firm(session, areas, now, uscc=USCC[0], name="批发甲")
    make_firm(session, areas, now, approved=False, uscc=USCC[1], name="批发乙")
    found, total = services.search_public_firms(session, filters={"q": "批发"}, areas=areas, page=Page())
    assert total == 1 and found[0].uscc == USCC[0]


def test_a_public_caller_cannot_use_firm_actions(session, areas, now):
    firm, _ = make_firm(session, areas, now, approved=False)
    with pytest.raises(Forbidden):
        services.change_firm_status(session, firm.id, "approve", actor=PUBLIC, areas=areas, now=now)
