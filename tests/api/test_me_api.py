"""GET /api/v1/me: the caller's own account and binding (the scanner page reads its site's area here)."""
from core.accounts import SYSTEM, Role
from checkpoints.models import SiteKind
from checkpoints.sites import create_site
from tests.api.helpers import API
from tests.factories import bearer, make_firm, make_token


def test_me_describes_an_officer_with_its_site(client, session, areas, now):
    site = create_site(session, data=dict(name="福田检查站", kind=SiteKind.CHECKPOINT, area_code="440304001", lat=22.53,
                                          lon=114.05), actor=SYSTEM, areas=areas, now=now)
    token = make_token(session, areas, now, Role.OFFICER, site_id=site.id, name="检查员 王")
    response = client.get(f"{API}/me", headers=bearer(token))
    assert response.status_code == 200
    body = response.get_json()
    assert body["name"] == "检查员 王" and body["role"] == "officer" and body["site_id"] == site.id
    assert body["site"] == {"id": site.id, "name": "福田检查站", "kind": "checkpoint", "area_code": "440304001",
                            "lat": 22.53, "lon": 114.05}
    assert body["area_code"] is None and body["firm_id"] is None and isinstance(body["account_id"], int)


def test_me_works_for_every_role_and_needs_a_token(client, session, areas, now):
    firm, firm_token = make_firm(session, areas, now)
    regulator = make_token(session, areas, now, Role.REGULATOR, area_code="440304")
    assert client.get(f"{API}/me", headers=bearer(firm_token)).get_json()["firm_id"] == firm.id
    body = client.get(f"{API}/me", headers=bearer(regulator)).get_json()
    assert (body["role"], body["area_code"], body["site"]) == ("regulator", "440304", None)
    assert client.get(f"{API}/me").status_code == 401
    assert client.get(f"{API}/me", headers=bearer("gl_not-a-token")).status_code == 401
