"""Pure white-list rules: entry status changes and who may manage a firm's records."""
from datetime import datetime

from core.accounts import Actor, Role
from core.areas import AreaLevel, AreaTree
from core.errors import InvalidState, Unprocessable
from core.permissions import regulates
from whitelist.errors import FirmSuspended
from whitelist.models import EntryStatus, FirmStatus

# Where a firm may be registered: a district or a street, never the whole city.
FIRM_AREA_LEVELS = (AreaLevel.DISTRICT, AreaLevel.STREET)


def require_registrable_area(area_code: str, areas: AreaTree) -> None:
    """Raises Unprocessable unless the code is a known district or street."""
    record = areas.get(area_code)
    if record is None:
        raise Unprocessable(fields={"area_code": [f"unknown area code {area_code}"]})
    if record.level not in FIRM_AREA_LEVELS:
        raise Unprocessable(fields={"area_code": ["a firm is registered in a district or a street"]})


def may_manage_firm_records(actor: Actor, *, firm_id: int, firm_area: str, areas: AreaTree) -> bool:
    """A firm account manages only its own firm; regulators manage firms inside their area."""
    if actor.role is Role.FIRM:
        return actor.firm_id == firm_id
    return regulates(actor, firm_area, areas)


def require_records_open(status: FirmStatus) -> None:
    """A pending firm prepares its records (people, vehicles, imports) but applies for nothing until it is
    approved; a suspended firm's lists are frozen, for its own account and for regulators alike, until it is
    reinstated (a revoked firm's, for good). Raises FirmSuspended."""
    if status is FirmStatus.SUSPENDED:
        raise FirmSuspended("the firm is suspended; a regulator must reinstate it first",
                            details={"status": status.value})
    if status is FirmStatus.REVOKED:  # for good: its lists stay as they were when it was struck off
        raise FirmSuspended("the firm's white-list entry is revoked", details={"status": status.value})


def may_read_firm_records(actor: Actor, *, firm_id: int, firm_area: str, areas: AreaTree) -> bool:
    return actor.role is Role.AUDITOR or may_manage_firm_records(
        actor, firm_id=firm_id, firm_area=firm_area, areas=areas)


def change_entry_status(entry, target: EntryStatus, *, at: datetime) -> EntryStatus:
    """Suspend or reinstate a person or vehicle; raises InvalidState when it is already there."""
    if entry.status is target:
        raise InvalidState(f"already {target.value}", details={"status": entry.status.value})
    previous, entry.status, entry.updated_at = entry.status, target, at
    return previous
