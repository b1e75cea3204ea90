"""Bench: the yard station's board (GET /api/v1/yards/ID/board, what /yards/ID reads every 30 s) with 500 open
loads in every state of the journey, through the Flask app in process. The loads are inserted directly
(set-up, not measured); the board reads them as the station shows them: plates, firms, time in state, the
steps allowed and the last seal check."""
import statistics
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import insert, select

from bench.handover_world import _firm_with_driver
from bench.world import migrated_app, resident_id, sqlite_url, utcnow
from checkpoints.models import Site, SiteKind
from checkpoints.sites import create_site
from core.accounts import SYSTEM, Role, create_account
from logistics.handovers import EventType, HandoverState
from logistics.models import Handover, HandoverEvent
from whitelist.models import Category, IdType, PersonKind, VehicleKind

S, E = HandoverState, EventType
# The open states a board shows, each with the events that led there (after booking).
PATHS = [(S.BOOKED, []), (S.ARRIVED, [E.ARRIVED]), (S.HELD, [E.ARRIVED, E.SEALS_CHECKED]),
         (S.SEALS_OK, [E.ARRIVED, E.SEALS_CHECKED]), (S.DISINFECTED, [E.ARRIVED, E.SEALS_CHECKED, E.DISINFECTED]),
         (S.DROPPED, [E.ARRIVED, E.SEALS_CHECKED, E.DISINFECTED, E.DROPPED]),
         (S.INBOUND_DEPARTED, [E.ARRIVED, E.SEALS_CHECKED, E.DISINFECTED, E.DROPPED, E.INBOUND_DEPARTED]),
         (S.COLLECTED, [E.ARRIVED, E.SEALS_CHECKED, E.DISINFECTED, E.DROPPED, E.INBOUND_DEPARTED, E.COLLECTED])]


def _percentiles(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return round(statistics.median(ordered), 1), round(p99, 1)


def _insert_loads(app, n: int, now) -> tuple[int, str]:
    """n open loads at one yard, spread over PATHS, with their events; returns (yard id, yard token)."""
    areas = app.extensions["areas"]
    with app.extensions["db"].sessionmaker() as s:
        hk_actor, hk_driver, tractor, _ = _firm_with_driver(
            s, app, now, uscc="91440300MA5G00000R", kind=PersonKind.CROSS_BORDER_DRIVER, id_type=IdType.HK_ID,
            number="A1234563", plate="粤Z1234港", hk_plate="FV1234", vehicle_kind=VehicleKind.TRACTOR)
        sz_actor, sz_driver, truck, _ = _firm_with_driver(
            s, app, now, uscc="92440300L00000003P", kind=PersonKind.DRIVER, id_type=IdType.CN_RESIDENT_ID,
            number=resident_id(7), plate="粤B54321", hk_plate=None, vehicle_kind=VehicleKind.TRUCK)
        yard = create_site(s, data=dict(name="bench yard", kind=SiteKind.RELAY_YARD, area_code="440304001",
                                        lat=22.53, lon=114.05, capacity=1000), actor=SYSTEM, areas=areas, now=now)
        crossing = s.scalars(select(Site).where(Site.ref_code == "SZB")).one()
        start = now - timedelta(hours=3)
        loads, events = [], []
        for i in range(n):
            state, path = PATHS[i % len(PATHS)]
            booked = start + timedelta(seconds=10 * i)
            times = {e: booked + timedelta(minutes=2 + k) for k, e in enumerate(path)}
            loads.append(dict(
                id=i + 1, yard_site_id=yard.id, crossing_site_id=crossing.id, inbound_firm_id=hk_actor.firm_id,
                inbound_driver_id=hk_driver.id, inbound_vehicle_id=tractor.id, container_no="CSQU3054383",
                seals=["SEAL001", "SEAL002"], sealed_by="HK shipper", cargo_category=Category.VEGETABLES,
                cargo_description="vegetables", packages=100, gross_kg=8000, outbound_firm_id=sz_actor.firm_id,
                outbound_driver_id=sz_driver.id, outbound_vehicle_id=truck.id, state=state, booked_at=booked,
                arrived_at=times.get(E.ARRIVED), dropped_at=times.get(E.DROPPED),
                inbound_departed_at=times.get(E.INBOUND_DEPARTED), collected_at=times.get(E.COLLECTED),
                return_due_at=times[E.DROPPED] + timedelta(minutes=90) if E.DROPPED in times else None,
                updated_at=now))
            for seq, (event, at) in enumerate([(E.BOOKED, booked), *times.items()], start=1):
                seen = ["SEAL001", "SEAL009"] if state is S.HELD else ["SEAL002", "SEAL001"]
                events.append(dict(handover_id=i + 1, seq=seq, type=event, at=at, site_id=yard.id, actor_id=None,
                                   actor_name="bench yard", state_after=state,
                                   data={"seals_seen": seen} if event is E.SEALS_CHECKED else {},
                                   audit_seq=0, audit_hash="0" * 64))
        s.execute(insert(Handover), loads)
        s.execute(insert(HandoverEvent), events)
        s.commit()
        _, token = create_account(s, name="bench yard", role=Role.YARD, site_id=yard.id, areas=areas, actor=SYSTEM,
                                  now=now)
        return yard.id, token


def yard_board(workdir: Path, *, quick: bool) -> dict:
    n, requests = (500, 20) if quick else (500, 100)
    app = migrated_app(sqlite_url(workdir, "yard_board"))
    now = utcnow()
    yard_id, token = _insert_loads(app, n, now)
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    client.get(f"/api/v1/yards/{yard_id}/board", headers=headers)  # warm-up: first-request set-up is not the board
    latencies = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(f"/api/v1/yards/{yard_id}/board", headers=headers)
        latencies.append((time.perf_counter() - started) * 1000)
        board = response.get_json()
        assert response.status_code == 200 and len(board["waiting"]) + len(board["held"]) + len(
            board["in_progress"]) == n, response.get_data(as_text=True)[:300]
    app.extensions["db"].engine.dispose()
    p50, p99 = _percentiles(latencies)
    return {"loads": n, "requests": requests, "p50_ms": p50, "p99_ms": p99, "database": "sqlite"}
