"""The console's risk zones: the tree with levels (colour and word), an area's history, and setting a level
with a reason after seeing its effect, which is what the setting records."""
import pytest
from sqlalchemy import select

from checkpoints.models import AreaRisk, SiteKind
from checkpoints.sites import create_site
from checkpoints.zones import risk_effect
from core.accounts import SYSTEM, Role
from core.audit import AuditEntry
from tests.api.console_helpers import console_user, page, post_with_token
from tests.api.pass_helpers import build_world, clock, issued

FUTIAN, NANYUAN, NANSHAN_STREET = "440304", "440304001", "440305001"


def _risks(session, code):
    session.rollback()
    return list(session.scalars(select(AreaRisk).where(AreaRisk.area_code == code)))


def _set(client, code, level, reason):
    url = f"/console/zones/{code}"
    return post_with_token(client, url, {"level": level, "reason": reason}, token_page=f"{url}?level={level}")


def test_the_tree_shows_every_district_with_its_level_as_a_word_and_a_colour(client, session, areas, now):
    console_user(client, session, areas, now, area_code=FUTIAN)
    assert _set(client, NANYUAN, "sealed", "确诊病例").status_code == 303
    response, html = page(client, "/console/zones")
    assert response.status_code == 200
    districts = [code for code, r in areas.by_code.items() if r.level.value == "district"]
    assert html.count('class="zone-district"') == len(districts)
    assert 'id="zone-440304001"' in html
    street = html[html.index('id="zone-440304001"'):]
    assert street.index('risk-sealed">封控区') < street.index("</li>")


def test_setting_a_level_records_it_with_the_effect_the_page_showed(client, session, areas, cipher, now):
    world = build_world(session, areas, cipher, now)
    issued(client, world)  # scoped to 440304001
    site = create_site(session, data=dict(name="南园检查站", kind=SiteKind.CHECKPOINT, area_code=NANYUAN, lat=22.5,
                                          lon=114.0, capacity=None), actor=SYSTEM, areas=areas, now=now)
    console_user(client, session, areas, now, area_code=FUTIAN)
    html = page(client, f"/console/zones/{FUTIAN}?level=controlled")[1]
    assert "影响 1 张有效通行证" in html and "南园检查站" in html and 'id="confirm"' in html
    shown = risk_effect(session, FUTIAN, areas=areas, now=clock())
    assert _set(client, FUTIAN, "controlled", "周边有病例").status_code == 303
    assert [r.level for r in _risks(session, FUTIAN)] == [2]
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "area.risk_set")).one()
    assert entry.changes["active_passes"] == shown.active_passes == 1
    assert entry.changes["site_ids"] == [s.id for s in shown.sites] == [site.id]
    html = page(client, f"/console/zones/{FUTIAN}")[1]
    assert "周边有病例" in html and 'risk-controlled">管控区' in html


@pytest.mark.parametrize("form", [{"level": "controlled", "reason": ""}, {"level": "extreme", "reason": "x"},
                                  {"level": "sealed", "reason": "x" * 501}, {"level": "", "reason": "x"}])
def test_bad_input_shows_the_page_again_and_changes_nothing(client, session, areas, now, form):
    console_user(client, session, areas, now, area_code=FUTIAN)
    response = post_with_token(client, f"/console/zones/{NANYUAN}", form, token_page=f"/console/zones/{NANYUAN}")
    assert response.status_code == 422 and response.mimetype == "text/html"
    assert _risks(session, NANYUAN) == []


def test_a_regulator_cannot_set_a_level_outside_its_area_and_is_told_it_may_only_read(client, session, areas, now):
    console_user(client, session, areas, now, area_code=FUTIAN)
    html = page(client, f"/console/zones/{NANSHAN_STREET}?level=sealed")[1]
    assert 'id="confirm"' not in html and 'id="level-choices"' not in html
    response = post_with_token(client, f"/console/zones/{NANSHAN_STREET}", {"level": "sealed", "reason": "x"},
                               token_page=f"/console/zones/{NANSHAN_STREET}")
    assert response.status_code == 403 and response.mimetype == "text/html"
    assert _risks(session, NANSHAN_STREET) == []


def test_an_admin_sets_a_level_anywhere(client, session, areas, now):
    console_user(client, session, areas, now, Role.ADMIN, area_code=None)
    assert _set(client, NANSHAN_STREET, "precaution", "预防").status_code == 303
    assert [r.level for r in _risks(session, NANSHAN_STREET)] == [1]


def test_auditors_read_levels_and_history_but_cannot_set_them(client, session, areas, now):
    console_user(client, session, areas, now, Role.AUDITOR, area_code=None)
    html = page(client, f"/console/zones/{NANYUAN}?level=sealed")[1]
    assert 'id="confirm"' not in html and 'id="history"' not in html  # nothing set yet
    response = post_with_token(client, f"/console/zones/{NANYUAN}", {"level": "sealed", "reason": "x"},
                               token_page=f"/console/zones/{NANYUAN}")
    assert response.status_code == 403 and _risks(session, NANYUAN) == []


def test_an_unknown_area_is_a_not_found_page(client, session, areas, now):
    console_user(client, session, areas, now, area_code=FUTIAN)
    for code in ("999999", "en", "<script>"):
        response = client.get(f"/console/zones/{code}")
        assert response.status_code == 404 and response.mimetype == "text/html"


def test_a_hostile_reason_is_shown_as_text(client, session, areas, now):
    console_user(client, session, areas, now, area_code=FUTIAN)
    assert _set(client, NANYUAN, "sealed", "<script>alert(1)</script>").status_code == 303
    html = page(client, f"/console/zones/{NANYUAN}")[1]
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
