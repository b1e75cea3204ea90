"""Tracing (流调) of relay-yard loads: which handovers carried a container or a seal, through which yard and
when, as the reader may see them (regulators: handovers at yards in their area; auditors and admins: all).
Read-only."""
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Iterator

from sqlalchemy import Select, String, cast, func, select
from sqlalchemy.orm import Session, aliased

from core.accounts import Actor
from core.areas import AreaTree
from core.db import Page, count_of, paged_rows
from core.permissions import visible_area_codes
from checkpoints.models import Site
from logistics.handovers import HandoverState
from logistics.models import Handover
from whitelist import identifiers as ids
from whitelist.models import Firm

MAX_EXPORT_ROWS = 50_000


@dataclass(frozen=True)
class HandoverSearch:
    """Every field optional, all given ones must match. The time window is on when the load reached the
    yard (when it was booked, for a load that has not arrived)."""

    container_no: str | None = None
    seal: str | None = None
    yard_id: int | None = None
    start: datetime | None = None
    end: datetime | None = None


@dataclass(frozen=True)
class HandoverRecord:
    id: int
    container_no: str
    seals: list[str]
    yard_id: int
    yard_name: str
    yard_area: str
    state: HandoverState
    booked_at: datetime
    arrived_at: datetime | None
    collected_at: datetime | None
    inbound_firm: str
    outbound_firm: str | None
    cargo: str


def search_handovers(session: Session, *, actor: Actor, areas: AreaTree, search: HandoverSearch,
                     page: Page) -> tuple[list[HandoverRecord], int]:
    """One page of the matching handovers, latest first, and how many match in all."""
    rows, total = paged_rows(session, _handovers_query(actor, areas, search), page)
    return [HandoverRecord(*row) for row in rows], total


def count_handovers(session: Session, *, actor: Actor, areas: AreaTree, search: HandoverSearch) -> int:
    return count_of(session, _handovers_query(actor, areas, search))


def iter_handovers(session: Session, *, actor: Actor, areas: AreaTree, search: HandoverSearch,
                   limit: int = MAX_EXPORT_ROWS) -> Iterator[HandoverRecord]:
    query = _handovers_query(actor, areas, search).limit(limit).execution_options(yield_per=1000)
    for row in session.execute(query):
        yield HandoverRecord(*row)


def _handovers_query(actor: Actor, areas: AreaTree, search: HandoverSearch) -> Select:
    inbound, outbound = aliased(Firm), aliased(Firm)
    reached = func.coalesce(Handover.arrived_at, Handover.booked_at)
    query = (select(Handover.id, Handover.container_no, Handover.seals, Handover.yard_site_id, Site.name,
                    Site.area_code, Handover.state, Handover.booked_at, Handover.arrived_at, Handover.collected_at,
                    inbound.name, outbound.name, Handover.cargo_description)
             .join(Site, Site.id == Handover.yard_site_id)
             .join(inbound, inbound.id == Handover.inbound_firm_id)
             .outerjoin(outbound, outbound.id == Handover.outbound_firm_id)
             .order_by(reached.desc(), Handover.id.desc()))
    visible = visible_area_codes(actor, areas)
    if visible is not None:
        query = query.where(Site.area_code.in_(visible))
    if search.container_no:
        query = query.where(Handover.container_no == _container(search.container_no))
    if search.seal:
        # Seals are a JSON list: match the quoted value in its text (the same on SQLite and PostgreSQL).
        quoted = json.dumps(search.seal.strip()).upper()  # escapes (\\u5c01) upper-cased alike
        escaped = quoted.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(func.upper(cast(Handover.seals, String)).like(f"%{escaped}%", escape="\\"))
    if search.yard_id:
        query = query.where(Handover.yard_site_id == search.yard_id)
    if search.start:
        query = query.where(reached >= search.start)
    if search.end:
        query = query.where(reached < search.end)
    return query


def _container(value: str) -> str:
    # A number with a wrong check digit may still be what is painted on a box: search it as typed.
    try:
        return ids.validate_container_no(value)
    except ValueError:
        return value.strip().upper()
