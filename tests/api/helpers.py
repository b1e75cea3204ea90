"""Shared helpers for the API tests: payloads, deterministic identifiers, CSV bodies, DB and audit reads."""
import json
import os
from datetime import date, timedelta

from sqlalchemy import func, select

from core.audit import AuditEntry

API = "/api/v1"
PROBLEM_JSON = "application/problem+json"
ON_SQLITE = not os.environ.get("TEST_DATABASE_URL")

# GB 11643 (resident ID) MOD 11-2, written out here so the tests do not trust the code under test.
_RIC_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
# GB 32100 (unified social credit code): weights 3^i mod 31; the embedded GB 11714 organisation code.
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def resident_id(body17: str) -> str:
    """A mainland resident ID with its MOD 11-2 check character appended."""
    total = sum(int(d) * w for d, w in zip(body17, _RIC_WEIGHTS))
    return body17 + "10X98765432"[total % 11]


def resident_ids(count: int, *, area: str = "440304", first: date = date(2000, 1, 1)) -> list[str]:
    """`count` distinct valid resident IDs: 100 sequence numbers per birth date, then the next day."""
    return [resident_id(f"{area}{(first + timedelta(days=i // 100)):%Y%m%d}{i % 100 + 1:03d}")
            for i in range(count)]


def wrong_check_digit(number: str) -> str:
    return number[:-1] + ("1" if number[-1] != "1" else "2")


def uscc(org8: str, *, prefix: str = "91440300") -> str:
    """A valid credit code: registration prefix + organisation code (8 chars + check) + check char."""
    org_total = sum(int(c, 36) * w for c, w in zip(org8, _ORG_WEIGHTS))
    body = prefix + org8 + "0123456789X0"[11 - org_total % 11]
    total = sum(_USCC_ALPHABET.index(c) * w for c, w in zip(body, _USCC_WEIGHTS))
    return body + _USCC_ALPHABET[-total % 31]


def firm_json(**overrides) -> dict:
    data = dict(name="深圳市海吉星蔬菜配送有限公司", uscc=uscc("MA5G0000"), category="vegetables",
                area_code="440304", address="福田区福华路 1 号", contact_name="陈经理",
                contact_phone="+86 13800138000")
    return {**data, **overrides}


def person_json(**overrides) -> dict:
    data = dict(kind="driver", name="李师傅", id_type="cn_resident_id", id_number="440304200001010009",
                phone="13900139000")
    return {**data, **overrides}


def csv_body(rows: list[str], *, bom: bool = False,
             header: str = "kind,name,id_type,id_number,phone") -> bytes:
    text = "\r\n".join([header, *rows]) + "\r\n"
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8")


def csv_row(id_number: str, *, kind: str = "courier", name: str = "王小明", id_type: str = "cn_resident_id",
            phone: str = "13800138000") -> str:
    return f"{kind},{name},{id_type},{id_number},{phone}"


def assert_problem(response, status: int, code: str | None = None) -> dict:
    """The response is an RFC 9457 problem with this status (and code); returns the body."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM_JSON
    body = response.get_json(force=True)
    assert body["status"] == status
    if code is not None:
        assert body["code"] == code, body
    return body


def fetch(session, statement):
    """Run a read in a new transaction: an SQLite reader keeps the snapshot it started with."""
    session.commit()
    return session.execute(statement)


def count(session, model) -> int:
    return fetch(session, select(func.count()).select_from(model)).scalar_one()


def audit_rows(session, **filters) -> list[AuditEntry]:
    query = select(AuditEntry).order_by(AuditEntry.seq)
    for key, value in filters.items():
        query = query.where(getattr(AuditEntry, key) == str(value))
    return list(fetch(session, query).scalars())


def audit_via_api(client, token: str, **filters) -> list[dict]:
    """Audit entries through GET /audit, newest first."""
    response = client.get(f"{API}/audit", query_string={**filters, "page_size": 100},
                          headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def as_text(value) -> str:
    """Any column value as text, so a search can look for a clear identifier in it."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("latin-1")
    return json.dumps(value, ensure_ascii=False, default=str) if isinstance(value, (dict, list)) else str(value)
