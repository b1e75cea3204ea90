"""The console's pending-pass queue, pass file and bulk decisions (issue 10): a regulator sees the pending
passes lying within its area only (a street regulator its street's), filters them with a count beside each
choice, decides on ticked rows or on all that match; refusals are listed and nothing changes until the
regulator confirms the rest; auditors read but never decide; bad input is an HTML page that changes nothing."""
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from core import audit
from passes.models import PassStatus, VehiclePass
from tests.api.checkpoint_helpers import NANYUAN, build_post, clock
from tests.api.console_helpers import as_user, insert_pending, make_console_users
from tests.api.helpers import API, audit_rows
from tests.api.web_helpers import csrf_token_of, html_of

NANYUAN_2 = "440304002"   # another street of Futian
NANSHAN_STREET = "440305001"


@pytest.fixture
def post(session, areas, cipher, app, now):
    post = build_post(session, areas, cipher, app.extensions["keyring"], now)
    make_console_users(session, areas, now)
    return post


def _pending(post, count, *, scope=(NANYUAN,), hours_ago=3.0, prefix="P", **kwargs):
    return insert_pending(post.session, firm_id=post.firm_id, vehicle_id=post.vehicle_ids[0], plate="粤B20001",
                          driver_id=post.driver_ids[0], count=count, scope=scope, prefix=prefix,
                          created_at=clock() - timedelta(hours=hours_ago), **kwargs)


def _rows(html: str) -> list[str]:
    return re.findall(r'id="row-([0-9A-Z]{8})"', html)


def _status(session, pass_id) -> PassStatus:
    session.rollback()  # end the test's read transaction: a snapshot would hide the app's writes
    return session.scalar(select(VehiclePass.status).where(VehiclePass.id == pass_id))


def _queue(client, **query):
    response = client.get("/console/", query_string=query)
    assert response.status_code == 200, response.status_code
    return html_of(response)


def _decide(client, data: dict, page_query: dict | None = None):
    token = csrf_token_of(_queue(client, **(page_query or {})))
    return client.post("/console/decisions", data={"csrf_token": token, **data})


def test_a_district_regulator_sees_its_own_pending_passes_oldest_first_and_nothing_of_another_district(
        client, post):
    mine = _pending(post, 3, prefix="F")
    _pending(post, 2, scope=(NANSHAN_STREET,), prefix="N")
    _pending(post, 1, scope=(NANYUAN, NANSHAN_STREET), prefix="W")  # spans two districts: the city's
    html = _queue(as_user(client, "futian.reg"))
    assert _rows(html) == mine  # oldest first
    assert 'id="queue-total">3<' in html
    html = _queue(as_user(client, "nanshan.reg"))
    assert _rows(html) == ["N0000000", "N0000001"]
    html = _queue(as_user(client, "city.reg"))
    assert set(_rows(html)) == set(mine) | {"N0000000", "N0000001", "W0000000"}


def test_a_street_regulator_sees_only_its_streets_queue(client, post):
    own = _pending(post, 2, prefix="S")
    _pending(post, 2, scope=(NANYUAN_2,), prefix="T")
    _pending(post, 1, scope=(NANYUAN, NANYUAN_2), prefix="D")  # the district's, not one street's
    html = _queue(as_user(client, "nanyuan.reg"))
    assert _rows(html) == own


def test_filters_narrow_the_queue_and_every_choice_shows_how_many_it_would_show(client, post):
    _pending(post, 4, prefix="A", hours_ago=30)
    _pending(post, 3, scope=(NANYUAN_2,), prefix="B", hours_ago=1.5, category="medicine")
    as_user(client, "futian.reg")
    html = _queue(client)
    assert re.search(r'<option value="440304001">[^<]*（4）</option>', html)
    assert re.search(r'<option value="440304002">[^<]*（3）</option>', html)
    assert re.search(r'<option value="medicine">[^<]*（3）</option>', html)
    assert re.search(r'<option value="24">[^<]*（4）</option>', html)  # waiting longer than 24 h
    assert re.search(r'<option value="1">[^<]*（7）</option>', html)
    assert _rows(_queue(client, street=NANYUAN_2)) == ["B0000000", "B0000001", "B0000002"]
    assert _rows(_queue(client, category="medicine")) == ["B0000000", "B0000001", "B0000002"]
    assert _rows(_queue(client, older_than="24")) == [f"A000000{i}" for i in range(4)]
    assert _rows(_queue(client, firm=str(post.firm_id), category="vegetables")) == [f"A000000{i}" for i in range(4)]
    # With the street chosen, the category counts are those of that street.
    html = _queue(client, street=NANYUAN_2)
    assert re.search(r'<option value="medicine"[^>]*>[^<]*（3）</option>', html)
    assert not re.search(r'<option value="vegetables"', html)


def test_the_queue_is_paged_25_at_a_time(client, post):
    ids = _pending(post, 30)
    as_user(client, "futian.reg")
    assert _rows(_queue(client)) == ids[:25]
    assert _rows(_queue(client, page="2")) == ids[25:]
    assert _rows(_queue(client, page="nonsense")) == ids[:25]


@pytest.mark.parametrize("query", [{"category": "weapons"}, {"street": "<script>"}, {"older_than": "3"},
                                   {"firm": "-1"}, {"district": "440305"}, {"surprise": "1"}])
def test_a_bad_filter_is_an_error_page_that_says_what_to_do(client, post, query):
    _pending(post, 1)
    response = as_user(client, "futian.reg").get("/console/", query_string=query)
    if "surprise" in query:  # unknown parameters are ignored by a page (links may carry tracking junk)
        assert response.status_code == 200
        return
    assert response.status_code == 422 and response.mimetype == "text/html"
    assert "<script>" not in html_of(response)


def test_bulk_approval_of_ticked_rows_signs_each_and_audits_each(client, session, post):
    ids = _pending(post, 5)
    as_user(client, "futian.reg")
    response = _decide(client, {"action": "approve", "which": "selected", "ids": ids[:3]})
    assert response.status_code == 303
    assert [_status(session, i) for i in ids] == [PassStatus.ACTIVE] * 3 + [PassStatus.PENDING] * 2
    assert len(audit_rows(session, action="pass.approved")) == 3
    html = html_of(client.get(response.headers["Location"]))
    assert "已批准并签发 3 张通行证" in html and _rows(html) == ids[3:]


def test_refused_items_are_listed_nothing_changes_and_confirming_decides_the_rest(client, session, post):
    inside = _pending(post, 2, prefix="I")
    outside = _pending(post, 1, scope=(NANSHAN_STREET,), prefix="O")
    as_user(client, "futian.reg")
    # A forged row (out of area) beside two good ones: the page lists it, with its reason, and stops.
    response = _decide(client, {"action": "reject", "reason": "资料不全 incomplete", "which": "selected",
                                "ids": inside + outside})
    assert response.status_code == 409 and response.mimetype == "text/html"
    html = html_of(response)
    assert 'id="refused-O0000000"' in html and "不在您的辖区内" in html
    assert "尚未作任何改动" in html and "确认对其余 2 张不予通过" in html
    assert {_status(session, i) for i in inside + outside} == {PassStatus.PENDING}
    assert audit_rows(session, action="pass.rejected") == []
    token = csrf_token_of(html)
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', html.split('id="confirm-form"')[1]))
    assert fields["confirm"] == "1" and fields["reason"] == "资料不全 incomplete"
    response = client.post("/console/decisions", data={**fields, "csrf_token": token, "ids": inside + outside})
    assert response.status_code == 303, fields
    assert [_status(session, i) for i in inside] == [PassStatus.REJECTED] * 2
    assert _status(session, outside[0]) is PassStatus.PENDING
    html = html_of(client.get(response.headers["Location"]))
    assert "2 张通行证作出不予通过决定" in html and "另有 1 张未处理" in html
    assert [e.changes["reason"] for e in audit_rows(session, action="pass.rejected")] == ["资料不全 incomplete"] * 2


def test_all_that_match_the_filter_are_decided_in_one_request(client, session, post):
    old = _pending(post, 6, prefix="A", hours_ago=30)
    new = _pending(post, 3, prefix="B", hours_ago=0.5)
    as_user(client, "futian.reg")
    html = _queue(client, older_than="24")
    assert "全部符合筛选条件的 6 张" in html
    pinned = dict(re.findall(r'<input type="hidden" name="(area|created_before|q_older_than)" value="([^"]*)"', html))
    assert "area" not in pinned and pinned["q_older_than"] == "24" and pinned["created_before"]
    response = client.post("/console/decisions", data={"csrf_token": csrf_token_of(html), "action": "approve",
                                                       "which": "all", **pinned})
    assert response.status_code == 303 and "older_than=24" in response.headers["Location"]
    assert {_status(session, i) for i in old} == {PassStatus.ACTIVE}
    assert {_status(session, i) for i in new} == {PassStatus.PENDING}
    assert audit.verify_chain(session) is None


@pytest.mark.parametrize("data, says", [
    ({"action": "reject", "which": "selected"}, "必须填写原因"),
    ({"action": "approve", "which": "selected"}, "请先勾选"),
    ({"action": "destroy", "which": "selected"}, "请点击"),
    ({"action": "approve", "which": "all", "area": "440305"}, None),  # another district: refused by the service
    ({"action": "approve", "which": "all", "created_before": "yesterday"}, "筛选条件无效"),
])
def test_bad_bulk_input_is_an_error_page_and_changes_nothing(client, session, post, data, says):
    ids = _pending(post, 2)
    as_user(client, "futian.reg")
    if data["which"] == "selected" and data["action"] != "approve":
        data = {**data, "ids": ids}
    response = _decide(client, data)
    assert response.status_code == 422 and response.mimetype == "text/html"
    if says:
        assert says in html_of(response)
    assert {_status(session, i) for i in ids} == {PassStatus.PENDING}
    assert audit_rows(session, action="pass.approved") == audit_rows(session, action="pass.rejected") == []


def test_an_auditor_reads_the_queue_and_the_pass_but_cannot_decide(client, session, post):
    ids = _pending(post, 2)
    as_user(client, "console.auditor")
    html = _queue(client)
    assert _rows(html) == ids and 'id="bulk-form"' in html and 'name="ids"' not in html and "bulk-approve" not in html
    page = html_of(client.get(f"/console/passes/{ids[0]}"))
    assert "do-approve" not in page and "form-reject" not in page
    token = csrf_token_of(html_of(client.get("/account")))
    for url, data in (("/console/decisions", {"action": "approve", "which": "selected", "ids": ids}),
                      (f"/console/passes/{ids[0]}/approve", {}),
                      (f"/console/passes/{ids[0]}/reject", {"reason": "no"})):
        response = client.post(url, data={"csrf_token": token, **data})
        assert response.status_code == 403 and response.mimetype == "text/html", url
    assert {_status(session, i) for i in ids} == {PassStatus.PENDING}


def test_an_admin_decides_one_pass_at_a_time_but_gets_no_bulk_form(client, session, post):
    ids = _pending(post, 1)
    as_user(client, "console.admin")
    html = _queue(client)
    assert _rows(html) == ids and "bulk-approve" not in html
    page = html_of(client.get(f"/console/passes/{ids[0]}"))
    response = client.post(f"/console/passes/{ids[0]}/approve", data={"csrf_token": csrf_token_of(page)})
    assert response.status_code == 303 and _status(session, ids[0]) is PassStatus.ACTIVE


def test_the_pass_file_shows_firm_vehicle_masked_drivers_with_their_test_scope_tree_and_history(client, post):
    [pass_id] = _pending(post, 1, scope=(NANYUAN, NANYUAN_2))
    html = html_of(as_user(client, "futian.reg").get(f"/console/passes/{pass_id}"))
    assert "深圳市海吉星蔬菜配送有限公司" in html and "已列入白名单" in html
    assert "粤B20001" in html
    assert "李**" in html and "李师傅" not in html  # masked
    assert "最近检测：阴性" in html and "1 小时" in html
    tree = html.split('id="scope-tree"')[1].split("</div>")[0]
    assert tree.index("深圳") < tree.index("福田") < tree.index("南园") and tree.count("in-scope") == 2
    assert 'id="do-approve"' in html and 'id="form-reject"' in html and 'id="form-revoke"' not in html


def test_a_pass_outside_the_regulators_area_is_not_found(client, post):
    [pass_id] = _pending(post, 1, scope=(NANSHAN_STREET,))
    response = as_user(client, "futian.reg").get(f"/console/passes/{pass_id}")
    assert response.status_code == 404 and response.mimetype == "text/html"
    assert as_user(client, "nanshan.reg").get(f"/console/passes/{pass_id}").status_code == 200


def test_a_regulator_revokes_an_active_pass_with_a_reason_and_without_one_nothing_changes(client, session, post):
    vpass = post.issue(0)
    session.commit()
    as_user(client, "futian.reg")
    page = html_of(client.get(f"/console/passes/{vpass.id}"))
    assert 'id="form-suspend"' in page and 'id="form-revoke"' in page and 'id="do-approve"' not in page
    token = csrf_token_of(page)
    response = client.post(f"/console/passes/{vpass.id}/revoke", data={"csrf_token": token, "reason": "   "})
    assert response.status_code == 422 and "请填写原因" in html_of(response)
    assert _status(session, vpass.id) is PassStatus.ACTIVE
    response = client.post(f"/console/passes/{vpass.id}/revoke", data={"csrf_token": token, "reason": "套牌 cloned"})
    assert response.status_code == 303, response.headers["Location"]
    assert _status(session, vpass.id) is PassStatus.REVOKED
    [entry] = audit_rows(session, action="pass.revoked", object_id=vpass.id)
    assert entry.changes["reason"] == "套牌 cloned" and entry.actor_name == "futian.reg 监管"
    html = html_of(client.get(response.headers["Location"]))
    assert "已吊销通行证" in html and "套牌 cloned" in html
    # Revoking twice: the state rule answers, as an error page.
    response = client.post(f"/console/passes/{vpass.id}/revoke", data={"csrf_token": token, "reason": "again"})
    assert response.status_code == 409 and response.mimetype == "text/html"


def test_hostile_text_in_a_firm_name_and_a_purpose_renders_inert(client, session, post):
    from whitelist.models import Firm
    session.get(Firm, post.firm_id).name = "<script>alert(1)</script>\u202eevil"
    session.commit()
    [pass_id] = _pending(post, 1, purpose='"><img src=x onerror=alert(1)>')
    as_user(client, "futian.reg")
    for url in ("/console/", f"/console/passes/{pass_id}"):
        html = html_of(client.get(url))
        assert "<script>alert" not in html and "<img src=x" not in html, url
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, url


def test_the_decisions_api_takes_the_queue_filter_waiting_time_and_area_within(client, session, post):
    old = _pending(post, 3, prefix="A", hours_ago=5)
    _pending(post, 2, prefix="B", hours_ago=0.2)
    _pending(post, 1, prefix="W", scope=(NANYUAN, NANSHAN_STREET), hours_ago=5)  # touches Futian, not within
    before = (clock() - timedelta(hours=2)).isoformat()
    response = client.post(f"{API}/passes/decisions", headers=post.headers("futian"), json={
        "action": "approve", "filter": {"status": "pending", "area": "440304", "area_mode": "within",
                                        "created_before": before}})
    assert response.status_code == 200, response.get_json()
    assert [i["id"] for i in response.get_json()["items"]] == old
    response = client.get(f"{API}/passes", headers=post.headers("futian"),
                          query_string={"status": "pending", "created_before": before})
    assert [p["id"] for p in response.get_json()] == ["W0000000"]
