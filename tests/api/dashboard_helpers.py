"""A small world for the console's charts, written straight into the tables with chosen timestamps (the
figures depend on when things happened, which the services would stamp with the wall clock)."""
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from checkpoints.models import Scan, SiteKind, Verdict
from checkpoints.sites import create_site
from core.accounts import SYSTEM, Account, Role
from core.db import transaction
from logistics.handovers import HandoverState
from logistics.models import Handover
from passes.models import PassArea, PassStatus, VehiclePass
from tests.api.helpers import uscc
from tests.factories import make_firm, make_person, make_token, make_vehicle
from whitelist.models import Category

# 16:00 in Beijing on 14 March 2026; the Beijing day began at 2026-03-13 16:00 UTC.
NOW = datetime(2026, 3, 14, 8, 0, tzinfo=timezone.utc)


@dataclass
class ChartWorld:
    firm_id: int
    vehicle_id: int
    driver_id: int
    account_id: int
    sites: dict[str, int] = field(default_factory=dict)
    n: int = 0


def build_chart_world(session, areas, cipher) -> ChartWorld:
    firm, _ = make_firm(session, areas, NOW - timedelta(days=30))
    vehicle = make_vehicle(session, areas, NOW - timedelta(days=30), firm_id=firm.id)
    driver = make_person(session, areas, cipher, NOW - timedelta(days=30), firm_id=firm.id)
    world = ChartWorld(firm_id=firm.id, vehicle_id=vehicle.id, driver_id=driver.id, account_id=0)
    for name, kind, area, capacity in [("福田检查站", SiteKind.CHECKPOINT, "440304001", None),
                                       ("南山检查站", SiteKind.CHECKPOINT, "440305001", None),
                                       ("福田接驳场", SiteKind.RELAY_YARD, "440304001", 10),
                                       ("南山接驳场", SiteKind.RELAY_YARD, "440305001", 4),
                                       ("皇岗口岸", SiteKind.CROSSING, "440304001", None)]:
        site = create_site(session, data=dict(name=name, kind=kind, area_code=area, lat=22.5, lon=114.0,
                                              capacity=capacity), actor=SYSTEM, areas=areas, now=NOW - timedelta(days=30))
        world.sites[name] = site.id
    make_token(session, areas, NOW, Role.OFFICER, name="扫码员", site_id=world.sites["福田检查站"])
    world.account_id = session.scalars(select(Account.id).where(Account.name == "扫码员")).one()
    return world


def add_pass(session, world: ChartWorld, *, scope, created: datetime, status=PassStatus.PENDING,
             approved: datetime | None = None, decided: datetime | None = None) -> str:
    """A pass in `status`, applied for at `created`; approved at `approved`, or rejected at `decided`."""
    world.n += 1
    pass_id = f"T{world.n:07d}"
    with transaction(session):
        session.add(VehiclePass(
            id=pass_id, firm_id=world.firm_id, vehicle_id=world.vehicle_id, plate="粤B12345",
            category=Category.VEGETABLES, scope=list(scope), valid_from=created, valid_until=created + timedelta(days=7),
            purpose="配送", status=status, created_at=created, updated_at=decided or approved or created,
            approved_at=approved, serial=world.n if approved else None,
            area_rows=[PassArea(area_code=code) for code in scope]))
    return pass_id


def add_scans(session, world: ChartWorld, site: str, at: datetime, *, accepted: int = 0,
              rejected: tuple[tuple[str, ...], ...] = ()) -> None:
    with transaction(session):
        for i in range(accepted):
            session.add(Scan(account_id=world.account_id, site_id=world.sites[site], scanned_at=at, received_at=at,
                             verdict=Verdict.ACCEPT, reasons=[]))
        for reasons in rejected:
            session.add(Scan(account_id=world.account_id, site_id=world.sites[site], scanned_at=at, received_at=at,
                             verdict=Verdict.REJECT, reasons=list(reasons)))


def add_handover(session, world: ChartWorld, yard: str, *, state: HandoverState, arrived: datetime | None = None,
                 collected: datetime | None = None) -> None:
    with transaction(session):
        world.n += 1
        session.add(Handover(
            yard_site_id=world.sites[yard], crossing_site_id=world.sites["皇岗口岸"], inbound_firm_id=world.firm_id,
            inbound_driver_id=world.driver_id, inbound_vehicle_id=world.vehicle_id, container_no=f"MSCU{world.n:07d}",
            seals=["S1"], sealed_by="海关", cargo_category=Category.VEGETABLES, cargo_description="蔬菜", packages=1,
            gross_kg=1000, state=state, booked_at=(arrived or NOW) - timedelta(hours=1), arrived_at=arrived,
            collected_at=collected, updated_at=collected or arrived or NOW))


def seed_chart_world(session, areas, cipher) -> ChartWorld:
    """The world the dashboard tests count: passes, a pending firm, scans and handovers at chosen times."""
    world = build_chart_world(session, areas, cipher)
    h = timedelta(hours=1)
    add_pass(session, world, scope=["440304001"], created=NOW - 72 * h, status=PassStatus.ACTIVE, approved=NOW - 48 * h)
    add_pass(session, world, scope=["440304001"], created=NOW - 24 * h, status=PassStatus.REJECTED, decided=NOW - 2 * h)
    add_pass(session, world, scope=["440305001"], created=NOW - h / 2)
    add_pass(session, world, scope=["440304002"], created=NOW - 5 * h)
    # Approved at 00:30 Beijing time on the 14th, which is still the 13th in UTC: a Beijing-day count says 14th.
    add_pass(session, world, scope=["440300"], created=NOW - 96 * h, status=PassStatus.ACTIVE,
             approved=datetime(2026, 3, 13, 16, 30, tzinfo=timezone.utc))
    # Approved at 23:30 Beijing time on the 13th; its scope touches Futian and Nanshan.
    add_pass(session, world, scope=["440304001", "440305001"], created=NOW - 72 * h, status=PassStatus.SUSPENDED,
             approved=datetime(2026, 3, 13, 15, 30, tzinfo=timezone.utc))
    add_pass(session, world, scope=["440305002"], created=NOW - 480 * h, status=PassStatus.ACTIVE, approved=NOW - 480 * h)
    add_pass(session, world, scope=["440304001"], created=NOW - 120 * h)
    make_firm(session, areas, NOW - 2 * h, approved=False, uscc=uscc("MA5G0D01"), area_code="440304001")
    add_scans(session, world, "福田检查站", NOW - h, accepted=3, rejected=(("expired",), ("expired", "test_stale")))
    add_scans(session, world, "南山检查站", NOW - 2 * h + timedelta(minutes=10), accepted=1, rejected=(("out_of_scope",),))
    add_scans(session, world, "福田检查站", NOW - 30 * h, accepted=2)
    add_scans(session, world, "福田检查站", NOW - 60 * h, accepted=5)
    for _ in range(3):
        add_handover(session, world, "福田接驳场", state=HandoverState.DROPPED, arrived=NOW - 3 * h)
    add_handover(session, world, "福田接驳场", state=HandoverState.BOOKED)
    for minutes in (30, 60, 120):
        add_handover(session, world, "福田接驳场", state=HandoverState.COMPLETED, arrived=NOW - 5 * h,
                     collected=NOW - 5 * h + timedelta(minutes=minutes))
    add_handover(session, world, "福田接驳场", state=HandoverState.COMPLETED, arrived=NOW - 40 * h,
                 collected=NOW - 30 * h)
    return world


def table_rows(html: str, table_id: str) -> dict[str, list[str]]:
    """The body rows of the table with this id: row header → the other cells' text."""
    match = re.search(rf'<table[^>]*id="{table_id}".*?<tbody>(.*?)</tbody>', html, re.DOTALL)
    assert match, f"no table {table_id}"
    rows = {}
    for row in re.findall(r"<tr>(.*?)</tr>", match.group(1), re.DOTALL):
        cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.DOTALL)]
        rows[cells[0]] = cells[1:]
    return rows

