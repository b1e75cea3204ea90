"""Issue 13 item 2b: firm contact phones are stored encrypted, shown and audited masked, never public."""
import os
import uuid

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, select, text

from core.accounts import Role
from factory import create_app
from tests.api.helpers import API, as_text, audit_rows, fetch, firm_json, uscc
from tests.conftest import KEYS
from tests.factories import bearer, make_token
from whitelist.models import Firm

CLEAR, MASKED = "+86 13800138000", "+86 138****8000"
DIGITS = "13800138000"


def test_a_registered_firms_phone_is_stored_encrypted_and_answered_and_audited_masked(client, session, areas,
                                                                                      cipher, now):
    response = client.post(f"{API}/firms", json=firm_json(contact_phone="138-0013-8000"))
    assert response.status_code == 201, response.get_json()
    firm_id = response.get_json()["id"]
    assert response.get_json()["contact_phone"] == MASKED
    stored = fetch(session, select(Firm).where(Firm.id == firm_id)).scalar_one()
    assert cipher.decrypt(stored.contact_phone_enc, purpose="contact_phone") == CLEAR
    assert stored.contact_phone_masked == MASKED
    raw = fetch(session, text("SELECT * FROM firms WHERE id = :id").bindparams(id=firm_id)).mappings().one()
    assert "contact_phone" not in raw and not any(DIGITS in as_text(v) for v in raw.values())
    [entry] = audit_rows(session, object_type="firm", object_id=firm_id)
    assert entry.changes["contact_phone"] == MASKED and DIGITS not in as_text(entry.changes)

    regulator = make_token(session, areas, now, Role.REGULATOR, area_code="440304")
    assert client.get(f"{API}/firms/{firm_id}", headers=bearer(regulator)).get_json()["contact_phone"] == MASKED
    listed = client.get(f"{API}/firms", headers=bearer(regulator)).get_json()
    assert [f["contact_phone"] for f in listed] == [MASKED]
    audit = client.get(f"{API}/audit", query_string={"object_type": "firm"}, headers=bearer(regulator))
    assert DIGITS not in audit.get_data(as_text=True)


def test_the_public_firm_lookup_shows_no_phone_at_all(client, session, areas, now):
    regulator = make_token(session, areas, now, Role.REGULATOR, area_code="440304")
    assert client.post(f"{API}/firms", json=firm_json(), headers=bearer(regulator)).status_code == 201
    response = client.get(f"{API}/public/firms")
    [firm] = response.get_json()
    assert "contact_phone" not in firm and "contact_name" not in firm
    assert "8000" not in response.get_data(as_text=True)


def test_the_openapi_document_says_the_firm_phone_is_masked(client):
    schemas = client.get(f"{API}/openapi.json").get_json()["components"]["schemas"]
    assert schemas["FirmOut"]["properties"]["contact_phone"] == {"type": "string", "description": "masked"}


# ---- the migration encrypts the phones already stored ----------------------------------------------

@pytest.fixture
def empty_database(tmp_path):
    """A database of our own: a fresh SQLite file, or a fresh PostgreSQL database beside the test one."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        yield f"sqlite:///{tmp_path / 'migrate.db'}"
        return
    name = f"h2_migrate_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    yield url.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE {name} WITH (FORCE)"))
    admin.dispose()


def test_the_migration_encrypts_and_masks_stored_phones_and_drops_the_clear_column(empty_database):
    app = create_app({"DATABASE_URL": empty_database, "TESTING": True, **KEYS})
    engine = app.extensions["db"].engine
    with app.app_context():
        upgrade(revision="0004_relay_yards")
    with engine.begin() as conn:
        for i, phone in enumerate([CLEAR, "+852 91234567"]):
            conn.execute(text(
                "INSERT INTO firms (name, uscc, category, area_code, address, contact_name, contact_phone, status,"
                " created_at, updated_at) VALUES (:n, :u, 'vegetables', '440304', 'addr', '陈经理', :p, 'approved',"
                " '2026-03-14 08:00:00', '2026-03-14 08:00:00')"), {"n": f"firm {i}", "u": uscc(f"MA5G000{i}"),
                                                                    "p": phone})
        firm_id = conn.execute(text("SELECT min(id) FROM firms")).scalar_one()
        conn.execute(text("INSERT INTO people (firm_id, kind, name, id_type, id_number_enc, id_hash, id_masked,"
                          " phone_enc, phone_masked, status, created_at, updated_at) VALUES (:f, 'driver', '李师傅',"
                          " 'cn_resident_id', :b, 'h', 'm', :b, 'm', 'active', '2026-03-14 08:00:00',"
                          " '2026-03-14 08:00:00')"), {"f": firm_id, "b": b"x"})
    with app.app_context():
        upgrade()
    cipher = app.extensions["pii"]
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT contact_phone_enc, contact_phone_masked FROM firms ORDER BY id")).all()
        assert [(cipher.decrypt(bytes(enc), purpose="contact_phone"), masked) for enc, masked in rows] == [
            (CLEAR, MASKED), ("+852 91234567", "+852 ****4567")]
        assert conn.execute(text("SELECT count(*) FROM people")).scalar_one() == 1
    assert "contact_phone" not in {c["name"] for c in inspect(engine).get_columns("firms")}
    with app.app_context():
        downgrade(revision="0004_relay_yards")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT contact_phone FROM firms ORDER BY id")).scalars().all() == [
            CLEAR, "+852 91234567"]
    engine.dispose()
