"""The audit pages (/console/audit): one object's trail scoped as GET /api/v1/audit is (a regulator reads
only objects in its area; auditors and admins all), and the chain check, which runs the CLI's check and
changes nothing."""
import pytest
from sqlalchemy import func, select, update

from core.audit import AuditEntry
from tests.api.console_reading_helpers import console_client, ids_on, token_of
from tests.api.helpers import uscc
from tests.api.web_helpers import html_of
from tests.factories import make_firm

SCRIPT = "<script>alert(1)</script>"


@pytest.fixture
def firms(session, areas, now):
    futian, _ = make_firm(session, areas, now, area_code="440304001", name=SCRIPT + "福田")
    nanshan, _ = make_firm(session, areas, now, area_code="440305", uscc=uscc("MA5G0X02"), name="南山企业")
    return {"futian": futian.id, "nanshan": nanshan.id}


def entry_count(session) -> int:
    return session.scalar(select(func.count()).select_from(AuditEntry))


def test_a_regulator_reads_the_trail_of_an_object_in_its_area_only(app, session, areas, now, firms):
    client = console_client(app, session, areas, now, "futian")
    own = client.get(f"/console/audit/firm/{firms['futian']}")
    html = html_of(own)
    assert own.status_code == 200 and "firm.registered" in html
    assert SCRIPT not in html and "&lt;script&gt;" in html
    other = html_of(client.get(f"/console/audit/firm/{firms['nanshan']}"))
    assert "firm.registered" not in other and 'id="no-entries"' in other
    auditor = html_of(console_client(app, session, areas, now, "auditor").get(f"/console/audit/firm/{firms['nanshan']}"))
    assert "firm.registered" in auditor


def test_the_audit_page_lists_only_entries_the_reader_may_see(app, session, areas, now, firms):
    html = html_of(console_client(app, session, areas, now, "futian").get("/console/audit"))
    assert f"/console/audit/firm/{firms['futian']}" in html
    assert f"/console/audit/firm/{firms['nanshan']}" not in html


def test_the_lookup_form_leads_to_the_trail_and_refuses_bad_input(app, session, areas, now, firms):
    client = console_client(app, session, areas, now, "city")
    response = client.get("/console/audit", query_string={"object_type": "firm", "object_id": firms["futian"]})
    assert response.status_code == 303 and response.headers["Location"] == f"/console/audit/firm/{firms['futian']}"
    bad = client.get("/console/audit", query_string={"object_type": "account", "object_id": "1"})
    assert bad.status_code == 422 and 'id="f-object_type-error"' in html_of(bad)
    missing = client.get("/console/audit", query_string={"object_type": "firm"})
    assert missing.status_code == 422 and 'id="f-object_id-error"' in html_of(missing)
    assert client.get("/console/audit/account/1").status_code == 404
    for page in ("abc", "0", "999999", "2"):
        response = client.get(f"/console/audit/firm/{firms['futian']}", query_string={"page": page})
        assert response.status_code == 422 and "firm.registered" not in html_of(response), page


@pytest.mark.parametrize("who", ["auditor", "futian"])
def test_the_chain_check_reports_an_intact_chain_and_changes_nothing(app, session, areas, now, firms, who):
    client = console_client(app, session, areas, now, who)
    page = client.get("/console/audit/chain")
    assert page.status_code == 200 and 'id="chain-result"' not in html_of(page)
    before = entry_count(session)
    response = client.post("/console/audit/chain", data={"csrf_token": token_of(client, "/console/audit/chain")})
    html = html_of(response)
    assert response.status_code == 200 and 'class="chain-result intact"' in html
    assert f"已校验 {before} 条记录" in html
    assert entry_count(session) == before
    cli = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert cli.exit_code == 0 and f"audit chain intact: {before} entries" in cli.output


def test_the_chain_check_names_the_first_altered_entry(app, session, areas, now, firms):
    client = console_client(app, session, areas, now, "auditor")
    victim = session.scalars(select(AuditEntry).where(AuditEntry.action == "firm.registered")
                             .order_by(AuditEntry.seq)).first()
    session.execute(update(AuditEntry).where(AuditEntry.id == victim.id).values(actor_name="someone else"))
    session.commit()
    response = client.post("/console/audit/chain", data={"csrf_token": token_of(client, "/console/audit/chain")})
    html = html_of(response)
    assert 'class="chain-result broken"' in html
    assert f"第 {victim.seq} 条" in html and "内容与其哈希不符" in html
    assert f"此前 {victim.seq - 1} 条记录完好" in html
    cli = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert cli.exit_code == 1 and f"seq={victim.seq}" in cli.output


def test_the_chain_check_needs_the_csrf_token(app, session, areas, now, firms):
    client = console_client(app, session, areas, now, "auditor")
    response = client.post("/console/audit/chain", data={})
    assert response.status_code == 400 and 'id="chain-result"' not in html_of(response)


def test_ids_on_lists_entries(app, session, areas, now, firms):
    html = html_of(console_client(app, session, areas, now, "admin").get(f"/console/audit/firm/{firms['nanshan']}"))
    assert len(ids_on(html, "entry")) == 1
