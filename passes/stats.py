"""Pass figures of an area for the console's charts: decisions per Beijing day, the pending queue at each
day's end, the same by sub-area, and the age of pending applications. Counted in SQL; drawn elsewhere.

An area's passes are those the queue shows its regulator: a scope area is the area, lies inside it or
contains it (passes.rules.related_areas). By sub-area, a pass counts once under each sub-area its scope
touches, and under "the whole area or wider" (code None) when its scope names the area or one above it."""
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, case, func, or_, select, true
from sqlalchemy.orm import Session

from core.accounts import Actor
from core.area_table import Area
from core.areas import CITY_CODE, AreaTree
from core.permissions import require_reads_area
from core.timebuckets import beijing_bucket, beijing_midnight, day_key
from passes import rules
from passes.models import PassArea, PassStatus, VehiclePass
from whitelist.models import Firm, FirmStatus

# Upper edges of the pending-age buckets; the last bucket is "this old or older".
AGE_EDGES = (timedelta(hours=1), timedelta(hours=4), timedelta(hours=12), timedelta(hours=24), timedelta(days=3))


@dataclass(frozen=True)
class DailyPasses:
    days: list[str]      # Beijing days, 'YYYY-MM-DD', oldest first; the last is today
    issued: list[int]    # approved that day
    rejected: list[int]  # rejected that day
    pending: list[int]   # waiting at the end of that day (today: now)


@dataclass(frozen=True)
class SubAreaPasses:
    code: str | None     # a sub-area of the area; None: scope is the whole area or wider
    issued: int          # over the days of the chart
    rejected: int
    pending: int         # now


@dataclass(frozen=True)
class PendingAges:
    edges: tuple[timedelta, ...]
    passes: list[int]    # len(edges) + 1 buckets, youngest first
    firms: list[int]


def sub_areas(area: str, areas: AreaTree) -> list[str]:
    """The areas one level below `area` (districts of the city, streets of a district), by code."""
    return sorted(code for code, parent in areas.parents.items() if parent == area)


def daily_passes(session: Session, *, area: str, actor: Actor, areas: AreaTree, now: datetime,
                 days: int = 14) -> DailyPasses:
    """Passes of `area` issued and rejected on each of the last `days` Beijing days (today included), and
    how many were pending at each day's end. Raises NotFound (unknown area) or Forbidden (not the caller's)."""
    require_reads_area(actor, area, areas)
    starts = _day_starts(now, days)
    ours = _ours(area, areas)
    issued = _per_day(session, VehiclePass.approved_at, ours, start=starts[0], now=now)
    rejected = _per_day(session, VehiclePass.updated_at, ours, VehiclePass.status == PassStatus.REJECTED,
                        start=starts[0], now=now)
    keys = [day_key(s) for s in starts]
    return DailyPasses(days=keys, issued=[issued.get(k, 0) for k in keys],
                       rejected=[rejected.get(k, 0) for k in keys],
                       pending=_pending_at(session, ours, [*starts[1:], now]))


def passes_by_sub_area(session: Session, *, area: str, actor: Actor, areas: AreaTree, now: datetime,
                       days: int = 14) -> list[SubAreaPasses]:
    """Per sub-area of `area` (and the whole-area row, code None, last): passes issued and rejected over the
    last `days` Beijing days, and pending now. Every sub-area is listed, zeros included."""
    require_reads_area(actor, area, areas)
    children = sub_areas(area, areas)
    bucket = case((Area.code.in_(children), Area.code), (Area.parent_code.in_(children), Area.parent_code),
                  else_=None).label("bucket")
    # Every scope area lies in the city: the city's figures need no area filter (nor its cost).
    related = [] if area == CITY_CODE else [PassArea.area_code.in_(rules.related_areas(area, areas))]
    start = _day_starts(now, days)[0]

    def count(*where) -> dict[str | None, int]:
        query = (select(bucket, func.count(func.distinct(VehiclePass.id))).select_from(VehiclePass)
                 .join(PassArea, PassArea.pass_id == VehiclePass.id).join(Area, Area.code == PassArea.area_code)
                 .where(*related, *where).group_by(bucket))
        return dict(session.execute(query).all())

    issued = count(VehiclePass.approved_at >= start, VehiclePass.approved_at <= now)
    rejected = count(VehiclePass.status == PassStatus.REJECTED, VehiclePass.updated_at >= start,
                     VehiclePass.updated_at <= now)
    pending = count(VehiclePass.status == PassStatus.PENDING)
    return [SubAreaPasses(code=code, issued=issued.get(code, 0), rejected=rejected.get(code, 0),
                          pending=pending.get(code, 0)) for code in [*children, None]]


def pending_ages(session: Session, *, area: str, actor: Actor, areas: AreaTree, now: datetime) -> PendingAges:
    """How long the pending pass applications of `area` and the pending firm applications inside it have
    waited, in the buckets of AGE_EDGES (under 1 h, 1–4 h, ... , 3 days and more)."""
    require_reads_area(actor, area, areas)

    def histogram(created_at, *where) -> list[int]:
        age = case(*((created_at > now - edge, i) for i, edge in enumerate(AGE_EDGES)),
                   else_=len(AGE_EDGES)).label("age")
        counts = dict(session.execute(select(age, func.count()).where(*where).group_by(age)).all())
        return [counts.get(i, 0) for i in range(len(AGE_EDGES) + 1)]

    return PendingAges(
        edges=AGE_EDGES,
        passes=histogram(VehiclePass.created_at, VehiclePass.status == PassStatus.PENDING, _ours(area, areas)),
        firms=histogram(Firm.created_at, Firm.status == FirmStatus.PENDING,
                        Firm.area_code.in_(areas.descendants(area))))


def _day_starts(now: datetime, days: int) -> list[datetime]:
    today = beijing_midnight(now)
    return [today - timedelta(days=back) for back in range(days - 1, -1, -1)]


def _ours(area: str, areas: AreaTree):
    """The condition "a pass of `area`" (always true for the city, which holds every scope area)."""
    if area == CITY_CODE:
        return true()
    return VehiclePass.id.in_(select(PassArea.pass_id).where(PassArea.area_code.in_(rules.related_areas(area, areas))))


def _per_day(session: Session, column, *where, start: datetime, now: datetime) -> dict[str, int]:
    day = beijing_bucket(column, "day").label("day")
    query = select(day, func.count()).where(column >= start, column <= now, *where).group_by(day)
    return dict(session.execute(query).all())


def _pending_at(session: Session, ours, ends: list[datetime]) -> list[int]:
    """How many passes were pending at each instant of `ends`: applied before it, decided (approved or
    rejected) after it or not yet. One pass over the passes that were pending at some point in the window."""
    decided = case((VehiclePass.status == PassStatus.PENDING, None),
                   else_=func.coalesce(VehiclePass.approved_at, VehiclePass.updated_at))
    columns = [func.coalesce(func.sum(case((and_(VehiclePass.created_at < end, or_(decided.is_(None), decided >= end)),
                                            1), else_=0)), 0) for end in ends]
    row = session.execute(select(*columns).where(
        ours, VehiclePass.created_at < ends[-1], or_(decided.is_(None), decided >= ends[0]))).one()
    return [int(n) for n in row]
