"""Tracing (流调): which scans a plate, a pass or a driver left, where and when, as the reader may see them
(regulators: scans at sites in their area; auditors and admins: all). Read-only."""
from dataclasses import dataclass
from datetime import datetime
from typing import Iterator

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from core.accounts import Actor
from core.areas import AreaTree
from core.db import Page, count_of, paged_rows
from core.errors import Unprocessable
from core.permissions import visible_area_codes
from core.pii import PersonalDataCipher
from checkpoints.models import Scan, Site, Verdict
from passes.models import PassDriver, VehiclePass
from whitelist import identifiers as ids
from whitelist.models import Firm, IdType, Person

MAX_EXPORT_ROWS = 50_000  # one CSV; a wider search is refused with the advice to narrow it


@dataclass(frozen=True)
class ScanSearch:
    """What a tracer looks for; every field optional, all given ones must match. `driver_hashes` are the
    keyed hashes of an identity number (driver_hashes() makes them), never the number itself."""

    plate: str | None = None
    pass_id: str | None = None
    driver_hashes: tuple[str, ...] = ()
    site_id: int | None = None
    start: datetime | None = None
    end: datetime | None = None


@dataclass(frozen=True)
class ScanRecord:
    id: int
    scanned_at: datetime
    site_id: int
    site_name: str
    site_area: str
    pass_id: str | None
    plate: str | None       # the pass's plate; the plate the officer typed when no pass was read
    plate_seen: str | None
    firm_name: str | None
    verdict: Verdict
    reasons: list[str]


def driver_hashes(cipher: PersonalDataCipher, id_type: IdType, id_number: str) -> tuple[str, ...]:
    """The keyed hashes a person's records may carry (two while personal-data keys rotate), from a typed
    identity number (the number goes no further).
    Raises Unprocessable (field id_number) when the number is not valid for its type."""
    try:
        number = ids.validate_id_number(id_type.value, id_number)
    except ValueError as e:
        raise Unprocessable(fields={"id_number": [str(e)]}) from None
    return cipher.search_hashes(ids.person_key(id_type.value, number))


def search_scans(session: Session, *, actor: Actor, areas: AreaTree, search: ScanSearch,
                 page: Page) -> tuple[list[ScanRecord], int]:
    """One page of the matching scans, newest first, and how many match in all."""
    rows, total = paged_rows(session, _scans_query(actor, areas, search), page)
    return [ScanRecord(*row) for row in rows], total


def count_scans(session: Session, *, actor: Actor, areas: AreaTree, search: ScanSearch) -> int:
    return count_of(session, _scans_query(actor, areas, search))


def iter_scans(session: Session, *, actor: Actor, areas: AreaTree, search: ScanSearch,
               limit: int = MAX_EXPORT_ROWS) -> Iterator[ScanRecord]:
    """Every matching scan (at most `limit`), newest first, read in batches: for the CSV export."""
    query = _scans_query(actor, areas, search).limit(limit).execution_options(yield_per=1000)
    for row in session.execute(query):
        yield ScanRecord(*row)


def _scans_query(actor: Actor, areas: AreaTree, search: ScanSearch) -> Select:
    plate = func.coalesce(VehiclePass.plate, Scan.plate_seen)
    query = (select(Scan.id, Scan.scanned_at, Scan.site_id, Site.name, Site.area_code, Scan.pass_id, plate,
                    Scan.plate_seen, Firm.name, Scan.verdict, Scan.reasons)
             .join(Site, Site.id == Scan.site_id)
             .outerjoin(VehiclePass, VehiclePass.id == Scan.pass_id)
             .outerjoin(Firm, Firm.id == VehiclePass.firm_id)
             .order_by(Scan.scanned_at.desc(), Scan.id.desc()))
    visible = visible_area_codes(actor, areas)
    if visible is not None:
        query = query.where(Site.area_code.in_(visible))
    if search.plate:
        wanted = {search.plate, ids.normalise_plate(search.plate)}
        query = query.where(or_(VehiclePass.plate.in_(wanted), VehiclePass.hk_plate.in_(wanted),
                                Scan.plate_seen.in_(wanted)))
    if search.pass_id:
        query = query.where(Scan.pass_id == search.pass_id.strip().upper())
    if search.driver_hashes:
        # Every pass that named this person as a driver, through any firm's record of them.
        query = query.where(Scan.pass_id.in_(select(PassDriver.pass_id).join(Person, Person.id == PassDriver.person_id)
                                             .where(Person.id_hash.in_(search.driver_hashes))))
    if search.site_id:
        query = query.where(Scan.site_id == search.site_id)
    if search.start:
        query = query.where(Scan.scanned_at >= search.start)
    if search.end:
        query = query.where(Scan.scanned_at < search.end)
    return query


def visible_sites(session: Session, *, actor: Actor, areas: AreaTree) -> list[Site]:
    """The sites a tracer may pick from (regulators: those in their area), by name."""
    query = select(Site).order_by(Site.name, Site.id)
    visible = visible_area_codes(actor, areas)
    if visible is not None:
        query = query.where(Site.area_code.in_(visible))
    return list(session.scalars(query))
