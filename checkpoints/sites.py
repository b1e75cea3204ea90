"""Site use cases: checkpoints, border crossings and relay yards, each in one area; officer and yard
accounts are bound to one."""
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.accounts import Actor
from core.areas import AreaTree
from core.db import Page, paged, transaction
from core.errors import Forbidden, NotFound, Unprocessable
from core.permissions import regulates, visible_area_codes
from checkpoints.models import Site, SiteKind


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
        if not data:
            return site  # nothing to change: no audit entry, no new updated_at
        before = {k: getattr(site, k) for k in data}
        for key, value in data.items():
            setattr(site, key, value)
        site.updated_at = now
        audit.record(session, actor.audit, "site.updated", object_type="site", object_id=site.id,
                     changes={k: [before[k], v] for k, v in data.items()}, at=now)
    return site


def find_site(session: Session, site_id: int) -> Site | None:
    """The site, or None: the factory hands this to core, which binds accounts to sites it cannot import."""
    return session.get(Site, site_id)


def get_site(session: Session, site_id: int) -> Site:
    site = session.get(Site, site_id)
    if site is None:
        raise NotFound(f"site {site_id} does not exist")
    return site


def route_problems(session: Session, *, crossing_site_id: int, yard_site_id: int) -> list[str]:
    """What keeps a cross-border route from being used: its crossing or yard missing, of the wrong kind or
    out of use; empty when it is usable (answers passes.events.route_problems)."""
    crossing, yard = session.get(Site, crossing_site_id), session.get(Site, yard_site_id)
    problems = []
    if crossing is None or crossing.kind is not SiteKind.CROSSING or not crossing.active:
        problems.append("crossing_site_id is not an active crossing")
    if yard is None or yard.kind is not SiteKind.RELAY_YARD or not yard.active:
        problems.append("yard_site_id is not an active relay yard")
    return problems


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


def list_route_ends(session: Session) -> tuple[list[Site], list[Site]]:
    """The crossings and relay yards in use, by name: the two ends a cross-border pass's route may name.
    Public knowledge (the crossings are reference sites; each yard has a public page)."""
    def active(kind: SiteKind) -> list[Site]:
        return list(session.scalars(select(Site).where(Site.kind == kind, Site.active).order_by(Site.name, Site.id)))
    return active(SiteKind.CROSSING), active(SiteKind.RELAY_YARD)


def _check_site(data: dict, actor: Actor, areas: AreaTree) -> None:
    if data["area_code"] not in areas:
        raise Unprocessable(fields={"area_code": [f"unknown area code {data['area_code']}"]})
    if not regulates(actor, data["area_code"], areas):
        raise Forbidden("this area is outside your jurisdiction")
    if data["kind"] == SiteKind.RELAY_YARD and not data.get("capacity"):
        raise Unprocessable(fields={"capacity": ["a relay yard needs its capacity (loads it can hold)"]})
