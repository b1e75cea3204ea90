"""Scan figures of an area for the console's charts: scans per Beijing hour, how many were rejected, and
for which reasons. Counted in SQL over the indexed scan time; drawn elsewhere.

An area's scans are those made at sites inside it. A scan counts at the hour the device scanned it (an
offline device's scans arrive later but belong to the hour they happened)."""
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import String, cast, func, select
from sqlalchemy.orm import Session

from checkpoints.models import Scan, Site, Verdict
from core.accounts import Actor
from core.areas import CITY_CODE, AreaTree
from core.permissions import require_reads_area
from core.timebuckets import beijing_bucket, beijing_hour, hour_key

WINDOWS = (24, 48)  # hours a chart may cover


@dataclass(frozen=True)
class HourlyScans:
    hours: list[datetime]   # the start of each Beijing hour, oldest first; the last is the current hour
    scans: list[int]
    rejected: list[int]
    reasons: dict[str, int]  # reason code → rejected scans giving it (a scan may give several), most first

    @property
    def total(self) -> int:
        return sum(self.scans)

    @property
    def total_rejected(self) -> int:
        return sum(self.rejected)


def hourly_scans(session: Session, *, area: str, actor: Actor, areas: AreaTree, now: datetime,
                 hours: int = 24) -> HourlyScans:
    """Scans at the sites of `area` in each of the last `hours` Beijing hours (the current one included),
    those rejected, and the reasons of the rejections. Raises NotFound (unknown area), Forbidden (not the
    caller's) or ValueError (a window other than WINDOWS)."""
    if hours not in WINDOWS:
        raise ValueError(f"hours must be one of {WINDOWS}")
    require_reads_area(actor, area, areas)
    current = beijing_hour(now)
    starts = [current - timedelta(hours=back) for back in range(hours - 1, -1, -1)]
    where = [Scan.scanned_at >= starts[0], Scan.scanned_at < current + timedelta(hours=1)]
    if area != CITY_CODE:  # every site lies in the city
        sites = list(session.scalars(select(Site.id).where(Site.area_code.in_(areas.descendants(area)))))
        # "+ 0" keeps the planner on the scan-time index: the window is the selective filter, while a busy
        # district's sites hold a large share of all scans ever made (SQLite otherwise picks the site index).
        where.append((Scan.site_id + 0).in_(sites))
    hour = beijing_bucket(Scan.scanned_at, "hour").label("hour")
    counts = {(key, verdict): n for key, verdict, n in session.execute(
        select(hour, Scan.verdict, func.count()).where(*where).group_by(hour, Scan.verdict))}
    keys = [hour_key(s) for s in starts]
    rejected = [counts.get((k, Verdict.REJECT), 0) for k in keys]
    # Rejected scans (the few) grouped by their list of reasons (few distinct lists), split into reasons here.
    reasons: dict[str, int] = {}
    listed = cast(Scan.reasons, String).label("reasons")
    for text, n in session.execute(select(listed, func.count()).where(*where, Scan.verdict == Verdict.REJECT)
                                   .group_by(listed)):
        for reason in json.loads(text or "[]"):
            reasons[reason] = reasons.get(reason, 0) + n
    return HourlyScans(hours=starts, scans=[counts.get((k, Verdict.ACCEPT), 0) + r for k, r in zip(keys, rejected)],
                       rejected=rejected, reasons=dict(sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))))
