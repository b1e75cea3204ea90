from datetime import datetime, timezone
from types import SimpleNamespace

import pytest

from core.accounts import Actor, Role
from core.areas import AreaTree, read_reference_areas
from core.errors import InvalidState, Unprocessable
from core.permissions import regulates, visible_area_codes
from whitelist.models import EntryStatus, Firm, FirmStatus
from whitelist.rules import change_entry_status, may_manage_firm_records, require_registrable_area

TREE = AreaTree(read_reference_areas())
AT = datetime(2026, 3, 14, tzinfo=timezone.utc)
FUTIAN_REGULATOR = Actor(1, "futian", Role.REGULATOR, area_code="440304")
STREET_REGULATOR = Actor(2, "street", Role.REGULATOR, area_code="440304001")


def test_a_district_regulator_regulates_its_streets_but_not_another_district():
    assert regulates(FUTIAN_REGULATOR, "440304001", TREE)
    assert not regulates(FUTIAN_REGULATOR, "440305", TREE)


def test_a_street_regulator_does_not_regulate_its_district():
    assert not regulates(STREET_REGULATOR, "440304", TREE)


def test_admins_regulate_everywhere_and_other_roles_nowhere():
    assert regulates(Actor(3, "admin", Role.ADMIN), "440305", TREE)
    assert not regulates(Actor(4, "auditor", Role.AUDITOR), "440305", TREE)


def test_a_firm_account_manages_only_its_own_firm():
    firm_actor = Actor(5, "firm", Role.FIRM, firm_id=7)
    assert may_manage_firm_records(firm_actor, firm_id=7, firm_area="440305", areas=TREE)
    assert not may_manage_firm_records(firm_actor, firm_id=8, firm_area="440305", areas=TREE)


def test_auditors_see_everything_and_regulators_only_their_area():
    assert visible_area_codes(Actor(4, "auditor", Role.AUDITOR), TREE) is None
    assert set(visible_area_codes(FUTIAN_REGULATOR, TREE)) == set(TREE.descendants("440304"))
    assert visible_area_codes(Actor(6, "officer", Role.OFFICER, site_id=1), TREE) == []


@pytest.mark.parametrize("code", ["440300", "999999", "440000"])
def test_firms_register_only_in_a_known_district_or_street(code):
    with pytest.raises(Unprocessable):
        require_registrable_area(code, TREE)


def test_firm_transitions_follow_the_table():
    firm = Firm(status=FirmStatus.PENDING)
    assert firm.apply("approve", at=AT) is FirmStatus.PENDING and firm.status is FirmStatus.APPROVED
    with pytest.raises(InvalidState) as e:
        firm.apply("approve", at=AT)
    assert e.value.details == {"status": "approved", "allowed": ["revoke", "suspend"]}
    firm.apply("suspend", at=AT)
    with pytest.raises(InvalidState):
        firm.apply("approve", at=AT)
    firm.apply("reinstate", at=AT)
    assert firm.status is FirmStatus.APPROVED and firm.updated_at == AT


def test_suspending_a_suspended_entry_is_refused():
    entry = SimpleNamespace(status=EntryStatus.SUSPENDED, updated_at=None)
    with pytest.raises(InvalidState):
        change_entry_status(entry, EntryStatus.SUSPENDED, at=AT)
    assert change_entry_status(entry, EntryStatus.ACTIVE, at=AT) is EntryStatus.SUSPENDED
    assert entry.status is EntryStatus.ACTIVE


def test_a_rejected_or_revoked_firm_stays_so():
    rejected, revoked = Firm(status=FirmStatus.PENDING), Firm(status=FirmStatus.APPROVED)
    rejected.apply("reject", at=AT)
    revoked.apply("revoke", at=AT)
    for firm in (rejected, revoked):
        for action in ("approve", "reject", "suspend", "reinstate", "revoke"):
            with pytest.raises(InvalidState):
                firm.apply(action, at=AT)
    assert (rejected.status, revoked.status) == (FirmStatus.REJECTED, FirmStatus.REVOKED)
