"""Alerts for regulators: suspected clones, held loads, overdue returns. Raised inside the transaction
that detects them, listed and acknowledged through the API."""
from datetime import datetime

from sqlalchemy import select
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
                page: Page) -> tuple[list[Alert], int]:
    query = select(Alert).order_by(Alert.raised_at.desc(), Alert.id.desc())
    visible = visible_area_codes(actor, areas)
    if visible is not None:
        query = query.where(Alert.area_code.in_(visible))
    if kind is not None:
        query = query.where(Alert.kind == kind)
    if open_only:
        query = query.where(Alert.acknowledged_at.is_(None))
    return paged(session, query, page)


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
