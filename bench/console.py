"""Bench scenarios for the regulators' console (issue 10): bulk approval of 1,000 pending passes in one
decision, against raw signing in the same run; and the first page of the pending-pass queue when it holds
10,000 passes (/console/ through the Flask app in process: 25 rows and the counts per filter value)."""
import time
from datetime import timedelta
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import insert

from bench.fleet import _percentiles
from bench.world import build_world, migrated_app, sqlite_url, utcnow
from core import audit, websessions
from core.accounts import SYSTEM, Actor, Role, add_account
from core.db import transaction
from core.signing import Signer
from passes import decisions
from passes.models import PassArea, PassDriver, PassStatus, VehiclePass

FUTIAN = Actor(None, "bench Futian regulator", Role.REGULATOR, area_code="440304")
STREETS = ("440304001", "440304002", "440304004", "440304005")
CATEGORIES = ("vegetables", "meat", "medicine", "grain_oil")


def _pending(app, world, now, prefix: str, n: int) -> list[str]:
    """n pending passes spread over four streets and categories, one second apart (set-up, not measured)."""
    ids = [f"{prefix}{i:07d}" for i in range(n)]
    with app.extensions["db"].sessionmaker() as s:
        s.execute(insert(VehiclePass), [dict(
            id=pid, firm_id=world.firm_id, vehicle_id=world.vehicle_ids[0], plate="粤B10000", hk_plate=None,
            category=CATEGORIES[i % 4], scope=[STREETS[i % 4]], valid_from=now - timedelta(hours=1),
            valid_until=now + timedelta(days=3), purpose="bench", status=PassStatus.PENDING,
            created_at=now - timedelta(seconds=n - i), updated_at=now) for i, pid in enumerate(ids)])
        s.execute(insert(PassDriver), [dict(pass_id=pid, person_id=world.driver_id) for pid in ids])
        s.execute(insert(PassArea), [dict(pass_id=pid, area_code=STREETS[i % 4]) for i, pid in enumerate(ids)])
        s.commit()
    return ids


def bulk_decision(workdir: Path, *, quick: bool) -> dict:
    """Approve 1,000 pending passes in one decision (sign, store, audit each), best of three fresh sets,
    alternating with 1,000 raw signatures so both meet the same interference."""
    n, rounds = (200, 2) if quick else (1000, 3)
    app = migrated_app(sqlite_url(workdir, "console_bulk"))
    now = utcnow()
    world = build_world(app, now=now)
    maker, areas, ring = app.extensions["db"].sessionmaker, app.extensions["areas"], app.extensions["keyring"]
    signer, payload = Signer(Ed25519PrivateKey.generate()), b"x" * 60
    best, raw = 0.0, 0.0
    for r in range(rounds):
        ids = _pending(app, world, now, f"C{r}", n)
        started = time.perf_counter()
        with maker() as s:
            decided = decisions.decide_passes(s, ids=ids, filters=None, action=decisions.Action.APPROVE, reason=None,
                                              confirm=False, actor=FUTIAN, areas=areas, ring=ring, now=now)
        best = max(best, n / (time.perf_counter() - started))
        assert sum(1 for d in decided if d.outcome is decisions.Outcome.APPROVED) == n
        started = time.perf_counter()
        for _ in range(n):
            signer.sign(payload)
        raw = max(raw, n / (time.perf_counter() - started))
    with maker() as s:
        assert audit.verify_chain(s) is None
    app.extensions["db"].engine.dispose()
    return {"approved": n, "approvals_per_s": round(best), "raw_sign_per_s": round(raw),
            "ratio": round(best / raw, 4), "rounds": rounds, "database": "sqlite"}


def queue_page(workdir: Path, *, quick: bool) -> dict:
    """GET /console/ as a district regulator whose queue holds n pending passes: the first 25 rows and the
    counts per street, category, firm and waiting time."""
    n, requests = (1000, 20) if quick else (10_000, 50)
    app = migrated_app(sqlite_url(workdir, "console_queue"))
    now = utcnow()
    world = build_world(app, now=now)
    _pending(app, world, now, "Q", n)
    with app.extensions["db"].sessionmaker() as s:
        with transaction(s):
            # Signed in through a session cookie: the password is never checked, so no hash is made.
            account, _ = add_account(s, name="bench regulator", role=Role.REGULATOR, area_code="440304",
                                     areas=app.extensions["areas"], actor=SYSTEM, now=now, username="bench.regulator",
                                     password_hash="!", with_token=False)
        cookie = websessions.start_session(s, account, policy=app.extensions["session_policy"], now=now)[1]
    client = app.test_client()
    client.set_cookie("greenlane_session", cookie)
    client.get("/console/")  # warm-up
    latencies = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get("/console/")
        latencies.append((time.perf_counter() - started) * 1000)
        html = response.get_data(as_text=True)
        assert response.status_code == 200 and html.count('class="result queue-row"') == 25, response.status_code
        assert f'id="queue-total">{n}<' in html
    app.extensions["db"].engine.dispose()
    p50, p99 = _percentiles(latencies)
    return {"pending": n, "requests": requests, "p50_ms": p50, "p99_ms": p99, "database": "sqlite"}
