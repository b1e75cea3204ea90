"""A firm's white-list standing at a glance: its people and vehicles by status, and why it is where it is."""
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.accounts import Actor
from core.areas import AreaTree
from core.audit import AuditEntry
from whitelist.models import EntryStatus, Firm, FirmStatus, Person, Vehicle
from whitelist.services import get_firm


def count_entries(session: Session, firm_id: int, *, actor: Actor, areas: AreaTree) -> dict[str, dict]:
    """How many people and vehicles a firm has, by status: {"people": {EntryStatus: n}, "vehicles": ...}.
    Raises FirmNotFound, Forbidden."""
    get_firm(session, firm_id, actor=actor, areas=areas)
    counts = {}
    for name, model in (("people", Person), ("vehicles", Vehicle)):
        rows = session.execute(select(model.status, func.count()).where(model.firm_id == firm_id)
                               .group_by(model.status))
        counts[name] = {status: 0 for status in EntryStatus} | {status: n for status, n in rows}
    return counts


def status_reason(session: Session, firm: Firm) -> str | None:
    """The reason the regulator gave when it last suspended the firm (kept in the audit log), while it
    is suspended; None otherwise or when none was given. The caller has already been allowed to see it."""
    if firm.status is not FirmStatus.SUSPENDED:
        return None
    entry = session.scalars(select(AuditEntry).where(
        AuditEntry.object_type == "firm", AuditEntry.object_id == str(firm.id),
        AuditEntry.action == "firm.suspended").order_by(AuditEntry.seq.desc()).limit(1)).first()
    return (entry.changes or {}).get("reason") if entry is not None else None
