"""Bench scenarios for fleet-sized firms: a 1,000-pass fleet application through the batch API, and the
first page of a firm's pass list when it holds 10,000 passes. Both go through the Flask app in process."""
import statistics
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import insert

from bench.world import build_world, migrated_app, resident_id, sqlite_url, utcnow
from core import websessions
from core.accounts import SYSTEM, FirmRole, Role, add_account, create_account
from core.db import transaction
from passes.models import PassArea, PassDriver, PassStatus, VehiclePass


def _firm_token(app, firm_id: int, now) -> str:
    with app.extensions["db"].sessionmaker() as s:
        _, token = create_account(s, name="bench firm", role=Role.FIRM, firm_id=firm_id,
                                  areas=app.extensions["areas"], actor=SYSTEM, now=now)
    return token


def fleet_application(workdir: Path, *, quick: bool) -> dict:
    n = 100 if quick else 1000
    app = migrated_app(sqlite_url(workdir, "fleet"))
    now = utcnow()
    world = build_world(app, now=now, vehicles=n + 1)  # vehicle 0 already holds the world's pass
    token = _firm_token(app, world.firm_id, now)
    start, until = (now - timedelta(minutes=5)).isoformat(), (now + timedelta(days=3)).isoformat()
    body = ("plate,driver_id_numbers,category,scope,valid_from,valid_until,purpose\n" + "".join(
        f"粤B{10000 + i},{resident_id(1)},cross_border_freight,440304001 440304002,{start},{until},bench\n"
        for i in range(1, n + 1))).encode()
    client = app.test_client()
    started = time.perf_counter()
    response = client.post("/api/v1/passes/batch", data=body, content_type="text/csv",
                           headers={"Authorization": f"Bearer {token}"})
    seconds = time.perf_counter() - started
    assert response.status_code == 201, response.get_data(as_text=True)[:500]
    assert len(response.get_json()) == n
    app.extensions["db"].engine.dispose()
    return {"passes": n, "seconds": round(seconds, 2), "passes_per_s": round(n / seconds), "database": "sqlite"}


def pass_list(workdir: Path, *, quick: bool) -> dict:
    n, requests = (1000, 20) if quick else (10_000, 50)
    app = migrated_app(sqlite_url(workdir, "pass_list"))
    now = utcnow()
    world = build_world(app, now=now)
    token = _firm_token(app, world.firm_id, now)
    with app.extensions["db"].sessionmaker() as s:  # set-up, not measured: n passes inserted directly
        ids = [f"L{i:07d}" for i in range(n)]
        s.execute(insert(VehiclePass), [dict(
            id=pid, firm_id=world.firm_id, vehicle_id=world.vehicle_ids[0], plate="粤B10000", hk_plate=None,
            category="cross_border_freight", scope=["440304001"], valid_from=now - timedelta(days=i % 30),
            valid_until=now + timedelta(days=1), purpose="bench", status=PassStatus.PENDING,
            created_at=now - timedelta(seconds=i), updated_at=now) for i, pid in enumerate(ids)])
        s.execute(insert(PassDriver), [dict(pass_id=pid, person_id=world.driver_id) for pid in ids])
        s.execute(insert(PassArea), [dict(pass_id=pid, area_code="440304001") for pid in ids])
        s.commit()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    client.get("/api/v1/passes", headers=headers)  # warm-up: first-request set-up is not the list's cost
    latencies = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get("/api/v1/passes", headers=headers)
        latencies.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200 and len(response.get_json()) == 10
    portal = _portal_page_latencies(app, world.firm_id, now, requests)
    app.extensions["db"].engine.dispose()
    p50, p99 = _percentiles(latencies)
    portal_p50, portal_p99 = _percentiles(portal)
    return {"passes": n + 1, "requests": requests, "p50_ms": p50, "p99_ms": p99, "portal_p50_ms": portal_p50,
            "portal_p99_ms": portal_p99, "database": "sqlite"}


def _portal_page_latencies(app, firm_id: int, now, requests: int) -> list[float]:
    """The same first page as the dispatcher sees it: /portal/passes (20 rows with QR links, status counts)."""
    with app.extensions["db"].sessionmaker() as s:
        with transaction(s):
            # Signed in through a session cookie below: the password is never checked, so no hash is made.
            account, _ = add_account(s, name="bench dispatcher", role=Role.FIRM, firm_id=firm_id,
                                     areas=app.extensions["areas"], actor=SYSTEM, now=now, username="bench.dispatcher",
                                     password_hash="!", firm_role=FirmRole.MANAGER, with_token=False)
        cookie = websessions.start_session(s, account, policy=app.extensions["session_policy"], now=now)[1]
    client = app.test_client()
    client.set_cookie("greenlane_session", cookie)
    client.get("/portal/passes")  # warm-up
    latencies = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get("/portal/passes")
        latencies.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200 and response.get_data(as_text=True).count('class="result pass-row') == 20
    return latencies


def _percentiles(latencies: list[float]) -> tuple[float, float]:
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return round(statistics.median(ordered), 1), round(p99, 1)
