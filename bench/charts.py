"""The console's charts on 1,000,000 scans: scans per Beijing hour with the rejections by reason for the
city and for one district (48 hours), on SQLite and PostgreSQL. Run alone: python -m bench.charts [URL]."""
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import insert, select, text

from bench.world import CITY, build_world, migrated_app, postgres_url, sqlite_url, utcnow
from checkpoints.models import Scan, SiteKind, Verdict
from checkpoints.sites import create_site
from checkpoints.stats import hourly_scans
from core.accounts import SYSTEM, Account, Role

DAYS = 30
REJECTIONS = (["expired"], ["out_of_scope"], ["test_stale"], ["expired", "test_stale"], ["revoked"])
STREETS = ("440304001", "440304002", "440305001", "440305002", "440306017", "440303001", "440307003",
           "440308001", "440309001", "440310001")


def fill(app, n: int) -> None:
    """`n` scans over the last DAYS days at ten checkpoints in seven districts, one in ten rejected."""
    now, areas = utcnow(), app.extensions["areas"]
    world = build_world(app, now=now)
    with app.extensions["db"].sessionmaker() as s:
        sites = [world.site_id] + [create_site(s, data=dict(name=f"bench {code}", kind=SiteKind.CHECKPOINT, area_code=code,
                                                            lat=22.5, lon=114.0, capacity=None), actor=SYSTEM,
                                               areas=areas, now=now).id for code in STREETS[1:]]
        account = s.scalars(select(Account.id).where(Account.role == Role.OFFICER)).first()
        step = timedelta(days=DAYS) / n
        for start in range(0, n, 50_000):
            s.execute(insert(Scan), [dict(account_id=account, site_id=sites[i % len(sites)], scanned_at=now - i * step,
                                          received_at=now - i * step,
                                          verdict=Verdict.REJECT if i % 10 == 0 else Verdict.ACCEPT,
                                          reasons=REJECTIONS[i // 10 % len(REJECTIONS)] if i % 10 == 0 else [])
                                     for i in range(start, min(start + 50_000, n))])
            s.commit()
        if s.bind.dialect.name == "postgresql":
            s.execute(text("ANALYZE scans"))
            s.commit()


def measure(app, *, area: str, hours: int = 48, rounds: int = 5) -> dict:
    areas, timings = app.extensions["areas"], []
    with app.extensions["db"].sessionmaker() as s:
        for _ in range(rounds):
            started = time.perf_counter()
            result = hourly_scans(s, area=area, actor=CITY, areas=areas, now=utcnow(), hours=hours)
            timings.append((time.perf_counter() - started) * 1000)
            s.rollback()
    return {"area": area, "hours": hours, "scans_counted": result.total, "median_ms": round(statistics.median(timings), 1),
            "max_ms": round(max(timings), 1)}


def plan(app) -> str:
    """PostgreSQL's plan of the hourly count, to see the scan-time index used."""
    with app.extensions["db"].sessionmaker() as s:
        return "\n".join(r[0] for r in s.execute(text(
            "EXPLAIN SELECT to_char(scanned_at + interval '8 hours', 'YYYY-MM-DD HH24'), verdict, count(*) FROM scans "
            "WHERE scanned_at >= now() at time zone 'utc' - interval '48 hours' GROUP BY 1, 2")))


def charts(workdir: Path, *, quick: bool) -> dict:
    n = 100_000 if quick else 1_000_000
    results = {"scans": n}
    for name, url in (("sqlite", sqlite_url(workdir, "charts")), ("postgresql", postgres_url("greenlane_bench_charts"))):
        if url is None:
            results[name] = {"skipped": "no PostgreSQL"}
            continue
        app = migrated_app(url)
        started = time.perf_counter()
        fill(app, n)
        results[name] = {"fill_s": round(time.perf_counter() - started, 1),
                         "city_48h": measure(app, area="440300"), "district_48h": measure(app, area="440304")}
        app.extensions["db"].engine.dispose()
    return results


if __name__ == "__main__":  # python -m bench.charts URL [N]: fill an empty database with N scans and measure
    app = migrated_app(sys.argv[1])
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
    if count:  # 0: measure a database filled before
        fill(app, count)
    print(measure(app, area="440300"), measure(app, area="440304"), measure(app, area="440300", hours=24), sep="\n")
    if app.extensions["db"].engine.dialect.name == "postgresql":
        print(plan(app))
