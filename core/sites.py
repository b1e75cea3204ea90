"""Sites: checkpoints, border crossings and relay yards, each in one area; officer and yard accounts are
bound to one. The Shenzhen–Hong Kong goods crossings ship as reference sites."""
import csv
import enum
from dataclasses import dataclass
from datetime import datetime
from importlib import resources

from sqlalchemy import Float, ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core import audit
from core.accounts import Actor
from core.areas import AreaTree
from core.db import Base, Page, paged, str_enum, transaction
from core.errors import Forbidden, NotFound, Unprocessable
from core.permissions import regulates, visible_area_codes


class SiteKind(enum.StrEnum):
    CHECKPOINT = "checkpoint"
    CROSSING = "crossing"
    RELAY_YARD = "relay_yard"


class Site(Base):
    __tablename__ = "sites"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[SiteKind] = mapped_column(str_enum(SiteKind), index=True)
    area_code: Mapped[str] = mapped_column(ForeignKey("areas.code"), index=True)
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    capacity: Mapped[int | None]
    ref_code: Mapped[str | None] = mapped_column(String(16), unique=True)  # reference sites, e.g. "SZB"
    # False for a crossing that no longer clears goods (Huanggang since 2025-12-21): no new routes use it.
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


@dataclass(frozen=True)
class ReferenceCrossing:
    ref_code: str
    name: str
    area_code: str
    lat: float
    lon: float
    goods: bool


def read_reference_crossings() -> list[ReferenceCrossing]:
    """The five Shenzhen–Hong Kong road crossings (shared/data/crossings.csv, copied as package data)."""
    with resources.files("core.data").joinpath("crossings.csv").open(encoding="utf-8") as f:
        return [ReferenceCrossing(ref_code=r["id"], name=f"{r['sz_name_zh']} {r['sz_name_en']}",
                                  area_code=r["sz_street_code"] or r["sz_district_code"], lat=float(r["lat"]),
                                  lon=float(r["lon"]), goods=r["goods_vehicles_status"].startswith("open"))
                for r in csv.DictReader(f)]


def create_site(session: Session, *, data: dict, actor: Actor, areas: AreaTree, now: datetime) -> Site:
    """Add a site in a street or district the caller regulates. Raises Forbidden, Unprocessable."""
    _check_site(data, actor, areas)
    with transaction(session):
        site = Site(**data, created_at=now, updated_at=now)
        session.add(site)
        session.flush()
        audit.record(session, actor.audit, "site.created", object_type="site", object_id=site.id,
                     changes={**data, "kind": site.kind.value}, at=now)
    return site


def update_site(session: Session, site_id: int, *, data: dict, actor: Actor, areas: AreaTree,
                now: datetime) -> Site:
    with transaction(session):
        site = get_site(session, site_id)
        if not regulates(actor, site.area_code, areas):
            raise Forbidden("this site is outside your jurisdiction")
        _check_site({"kind": site.kind, "area_code": site.area_code, **data}, actor, areas)
        before = {k: getattr(site, k) for k in data}
        for key, value in data.items():
            setattr(site, key, value)
        site.updated_at = now
        audit.record(session, actor.audit, "site.updated", object_type="site", object_id=site.id,
                     changes={k: [before[k], v] for k, v in data.items()}, at=now)
    return site


def get_site(session: Session, site_id: int) -> Site:
    site = session.get(Site, site_id)
    if site is None:
        raise NotFound(f"site {site_id} does not exist")
    return site


def list_sites(session: Session, *, actor: Actor, areas: AreaTree, kind: SiteKind | None, area: str | None,
               page: Page) -> tuple[list[Site], int]:
    query = select(Site).order_by(Site.id)
    visible = visible_area_codes(actor, areas)
    if visible is not None:
        query = query.where(Site.area_code.in_(visible))
    if kind is not None:
        query = query.where(Site.kind == kind)
    if area:
        query = query.where(Site.area_code.in_(areas.descendants(area)))
    return paged(session, query, page)


def _check_site(data: dict, actor: Actor, areas: AreaTree) -> None:
    if data["area_code"] not in areas:
        raise Unprocessable(fields={"area_code": [f"unknown area code {data['area_code']}"]})
    if not regulates(actor, data["area_code"], areas):
        raise Forbidden("this area is outside your jurisdiction")
    if data["kind"] == SiteKind.RELAY_YARD and not data.get("capacity"):
        raise Unprocessable(fields={"capacity": ["a relay yard needs its capacity (loads it can hold)"]})
