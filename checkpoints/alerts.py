"""Alerts for regulators: suspected clones, held loads, overdue returns. Raised inside the transaction
that detects them, listed and acknowledged through the API."""
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import audit
from core.accounts import Actor
from core.areas import AreaTree
from core.db import Page, paged, transaction
from core.errors import Forbidden, InvalidState, NotFound
from core.permissions import regulates, visible_area_codes
from checkpoints.models import Alert, AlertKind


def raise_alert(session: Session, kind: AlertKind, *, area_code: str, subject_type: str, subject_id: str,
                details: dict, actor: Actor, now: datetime) -> Alert:
    """Adds an alert (no commit): it lands with the change that caused it."""
    alert = Alert(kind=kind, area_code=area_code, subject_type=subject_type, subject_id=str(subject_id),
                  details=details, raised_at=now)
    session.add(alert)
    session.flush()
    audit.record(session, actor.audit, f"alert.{kind.value}", object_type=subject_type, object_id=subject_id,
                 changes={"alert_id": alert.id, **details}, at=now)
    return alert


def list_alerts(session: Session, *, actor: Actor, areas: AreaTree, kind: AlertKind | None, open_only: bool,
                page: Page, acknowledged_only: bool = False, area: str | None = None) -> tuple[list[Alert], int]:
    """Newest first, in the caller's area (auditors and admins: all); `area` narrows to an area and
    everything below it."""
    query = select(Alert).order_by(Alert.raised_at.desc(), Alert.id.desc())
    visible = visible_area_codes(actor, areas)
    if visible is not None:
        query = query.where(Alert.area_code.in_(visible))
    if area:
        query = query.where(Alert.area_code.in_(areas.descendants(area)))
    if kind is not None:
        query = query.where(Alert.kind == kind)
    if open_only:
        query = query.where(Alert.acknowledged_at.is_(None))
    if acknowledged_only:
        query = query.where(Alert.acknowledged_at.is_not(None))
    return paged(session, query, page)


def count_open_alerts(session: Session, *, actor: Actor, areas: AreaTree) -> dict[AlertKind, int]:
    """Open alerts in the caller's area, by kind (every kind present, zero or not)."""
    query = select(Alert.kind, func.count()).where(Alert.acknowledged_at.is_(None)).group_by(Alert.kind)
    visible = visible_area_codes(actor, areas)
    if visible is not None:
        query = query.where(Alert.area_code.in_(visible))
    return {kind: 0 for kind in AlertKind} | dict(session.execute(query).all())


def acknowledge_alert(session: Session, alert_id: int, *, actor: Actor, areas: AreaTree, now: datetime) -> Alert:
    with transaction(session):
        alert = session.get(Alert, alert_id, with_for_update=True)
        if alert is None:
            raise NotFound(f"alert {alert_id} does not exist")
        if not regulates(actor, alert.area_code, areas):
            raise Forbidden("this alert is outside your jurisdiction")
        if alert.acknowledged_at is not None:
            raise InvalidState("already acknowledged")
        alert.acknowledged_at, alert.acknowledged_by = now, actor.name
        audit.record(session, actor.audit, "alert.acknowledged", object_type="alert", object_id=alert.id, at=now)
    return alert
