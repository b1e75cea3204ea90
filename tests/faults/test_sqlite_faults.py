"""A SQLite file that turns read-only or fills up: writes answer 503 problem+json with Retry-After and
nothing is half-written (no firm without its account or audit entry, an intact audit chain); reads go on."""
from sqlalchemy import event, func, select

from core import audit
from core.accounts import Account, Role
from factory import create_app
from tests.api.helpers import uscc
from tests.conftest import KEYS
from tests.factories import bearer, firm_data, make_token
from whitelist.models import Firm

FIRM = {k: (v.value if hasattr(v, "value") else v) for k, v in firm_data().items()}


def _app(url, **config):
    return create_app({"DATABASE_URL": url, "TESTING": True, **KEYS, **config})


def _register(client, i):
    return client.post("/api/v1/firms", json={**FIRM, "uscc": uscc(f"G{i:07d}"), "name": f"firm {i}"})


def _stored(url) -> tuple[int, int, int, object]:
    app = _app(url)
    with app.extensions["db"].sessionmaker() as session:
        firms = session.scalar(select(func.count()).select_from(Firm))
        accounts = session.scalar(select(func.count()).select_from(Account).where(Account.firm_id.is_not(None)))
        entries = session.scalar(select(func.count()).select_from(audit.AuditEntry))
        broken = audit.verify_chain(session)
    app.extensions["db"].engine.dispose()
    return firms, accounts, entries, broken


def _assert_unavailable(response):
    assert response.status_code == 503 and response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["code"] == "database_unavailable" and "Nothing of this request was saved" in body["detail"]
    assert int(response.headers["Retry-After"]) > 0
    assert "INSERT" not in response.get_data(as_text=True)  # no SQL, no values


def test_a_read_only_database_file_answers_writes_with_503_and_still_serves_reads(database_url, now):
    if not database_url.startswith("sqlite"):
        return  # PostgreSQL read-only is a replica or a full disk: covered by the deploy guide
    writable = _app(database_url)
    with writable.extensions["db"].sessionmaker() as session:
        token = make_token(session, writable.extensions["areas"], now, Role.ADMIN)
    assert _register(writable.test_client(), 0).status_code == 201
    writable.extensions["db"].engine.dispose()
    before = _stored(database_url)
    path = database_url.removeprefix("sqlite:///")
    read_only = _app(f"sqlite:///file:{path}?mode=ro&uri=true")
    client = read_only.test_client()
    _assert_unavailable(_register(client, 1))
    _assert_unavailable(client.post("/api/v1/firms", json={**FIRM, "uscc": uscc("G0000002")}, headers=bearer(token)))
    listed = client.get("/api/v1/firms", headers=bearer(token))
    assert listed.status_code == 200 and [f["name"] for f in listed.get_json()] == ["firm 0"]
    read_only.extensions["db"].engine.dispose()
    after = _stored(database_url)
    assert after == before and after[3] is None


def test_a_full_disk_answers_503_and_leaves_no_half_written_firm(database_url):
    if not database_url.startswith("sqlite"):
        return
    app = _app(database_url, RATELIMIT_REGISTRATION="1000 per hour")
    engine = app.extensions["db"].engine
    engine.dispose()

    @event.listens_for(engine, "connect")
    def _disk_full(dbapi_conn, _record):
        # SQLite's own limit on the file size: past it every write fails with "database or disk is full".
        pages = dbapi_conn.execute("PRAGMA page_count").fetchone()[0]
        dbapi_conn.execute(f"PRAGMA max_page_count = {pages + 2}")

    client = app.test_client()
    statuses = [_register(client, i).status_code for i in range(40)]
    assert set(statuses) <= {201, 503} and 503 in statuses, statuses
    _assert_unavailable(_register(client, 99))
    engine.dispose()
    firms, accounts, entries, broken = _stored(database_url)
    assert firms == statuses.count(201) == accounts  # each firm with its account, none without
    assert broken is None and entries >= firms
