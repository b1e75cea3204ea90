"""The number of SQL statements of one recorded scan is pinned (bench/sqlcount.py counts them with an event
listener), so the scan path cannot silently grow back. It was 17 on SQLite and 13 on PostgreSQL before the
per-process caches; see docs/performance.md for what each remaining statement does."""
from bench.sqlcount import statements, statements_per_scan
from bench.world import build_world, utcnow

# SQLite: BEGIN, the versions, the clone check, BEGIN IMMEDIATE, the INSERT (SQLAlchemy sends BEGIN for us
# there); PostgreSQL: the versions, the clone check, the INSERT.
EXPECTED = {"sqlite": ["BEGIN", "SELECT counters", "SELECT", "BEGIN IMMEDIATE", "INSERT INTO scans"],
            "postgresql": ["SELECT counters", "SELECT", "INSERT INTO scans"]}


def _shape(statement: str) -> str:
    if statement.startswith("SELECT counters.name, counters.value FROM counters"):
        return "SELECT counters"
    for prefix in ("BEGIN IMMEDIATE", "BEGIN", "INSERT INTO scans"):
        if statement.startswith(prefix):
            return prefix
    return statement.split(" ", 1)[0]


def test_a_recorded_scan_runs_the_pinned_statements_and_no_more(app):
    world = build_world(app, now=utcnow())
    seen = statements_per_scan(app, token=world.officer_token, qr=world.qr)
    assert [_shape(s) for s in seen] == EXPECTED[app.extensions["db"].engine.dialect.name], seen


def test_a_scan_with_a_client_scan_id_adds_only_the_idempotency_look_up(app):
    world = build_world(app, now=utcnow())
    client = app.test_client()
    headers = {"Authorization": f"Bearer {world.officer_token}"}
    plain = statements_per_scan(app, token=world.officer_token, qr=world.qr)
    with statements(app.extensions["db"].engine) as seen:
        response = client.post("/api/v1/scans", json={"qr": world.qr, "client_scan_id": "dev-1/1"}, headers=headers)
    assert response.status_code == 200 and response.get_json()["verdict"] == "accept"
    assert len(seen) == len(plain) + 1
    with statements(app.extensions["db"].engine) as again:
        repeated = client.post("/api/v1/scans", json={"qr": world.qr, "client_scan_id": "dev-1/1"}, headers=headers)
    assert repeated.get_json() == response.get_json()
    assert not any(s.startswith("INSERT") for s in again)  # the repeat records nothing
