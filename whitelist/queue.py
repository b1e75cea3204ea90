"""The regulators' firm queue: firms of the caller's area by status, district, category and age, oldest
first, with how many firms each filter option would show."""
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from core.accounts import Actor
from core.areas import AreaLevel, AreaTree
from core.db import Page, paged
from core.errors import Forbidden
from core.permissions import READ_ALL_ROLES, visible_area_codes
from whitelist.models import Category, Firm, FirmStatus

AGE_DAYS = (1, 3, 7)  # "waiting longer than N days"


@dataclass(frozen=True)
class QueueFilters:
    """The queue's filters, already checked: a status, a district, a category, a minimum age in days and a
    search text over name and credit code (None: no filter)."""

    status: FirmStatus | None = FirmStatus.PENDING
    district: str | None = None
    category: Category | None = None
    age_days: int | None = None
    q: str | None = None


def firm_queue(session: Session, *, actor: Actor, areas: AreaTree, filters: QueueFilters, page: Page,
               now: datetime) -> tuple[list[Firm], int]:
    """The firms matching `filters` in the caller's area, oldest application first. Raises Forbidden."""
    query = _filtered(select(Firm), actor, areas, filters, now)
    return paged(session, query.order_by(Firm.created_at, Firm.id), page)


def queue_counts(session: Session, *, actor: Actor, areas: AreaTree, filters: QueueFilters,
                 now: datetime) -> dict[str, dict]:
    """For each filter, how many firms each of its options shows with the other filters kept:
    {"status": {FirmStatus: n}, "district": {code: n}, "category": {Category: n}, "age": {days: n}}."""
    def grouped(column, without: str) -> dict:
        query = _filtered(select(column, func.count()), actor, areas, _without(filters, without), now)
        return dict(session.execute(query.group_by(column)).all())

    by_area = grouped(Firm.area_code, "district")
    districts: dict[str, int] = {}
    for code, n in by_area.items():
        district = district_of(code, areas)
        districts[district] = districts.get(district, 0) + n
    ages = {}
    for days in AGE_DAYS:
        query = _filtered(select(func.count()).select_from(Firm), actor, areas,
                          _without(filters, "age_days"), now).where(Firm.created_at <= now - timedelta(days=days))
        ages[days] = session.scalar(query) or 0
    return {"status": grouped(Firm.status, "status"), "district": districts,
            "category": grouped(Firm.category, "category"), "age": ages}


def queue_districts(actor: Actor, areas: AreaTree) -> list[str]:
    """The districts the caller's queue can be narrowed to: those in (or containing) its area."""
    visible = visible_area_codes(actor, areas)
    codes = [c for c, r in areas.by_code.items() if r.level is AreaLevel.DISTRICT]
    if visible is None:
        return sorted(codes)
    return sorted({district_of(c, areas) for c in visible if areas.get(c).level is not AreaLevel.CITY})


def district_of(code: str, areas: AreaTree) -> str:
    """The district a firm's district or street lies in."""
    for record in areas.path(code):
        if record.level is AreaLevel.DISTRICT:
            return record.code
    return code


def _filtered(query: Select, actor: Actor, areas: AreaTree, filters: QueueFilters, now: datetime) -> Select:
    if actor.role not in READ_ALL_ROLES:
        visible = visible_area_codes(actor, areas)
        if not visible:
            raise Forbidden("only regulators, admins and auditors work the firm queue")
        query = query.where(Firm.area_code.in_(visible))
    if filters.status is not None:
        query = query.where(Firm.status == filters.status)
    if filters.district:
        query = query.where(Firm.area_code.in_(areas.descendants(filters.district)))
    if filters.category is not None:
        query = query.where(Firm.category == filters.category)
    if filters.age_days:
        query = query.where(Firm.created_at <= now - timedelta(days=filters.age_days))
    if filters.q:
        text = filters.q.strip()
        escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(or_(Firm.name.ilike(f"%{escaped}%", escape="\\"), Firm.uscc == text.upper()))
    return query


def _without(filters: QueueFilters, name: str) -> QueueFilters:
    values = {k: getattr(filters, k) for k in QueueFilters.__dataclass_fields__}
    values[name] = None
    return QueueFilters(**values)
