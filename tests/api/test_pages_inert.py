"""Every page the app serves, as a stranger and as a signed-in firm user, with hostile text in every free-text
field the page may show (firm, person, account, site and pass texts): the text arrives escaped, never as
markup, and no page answers 500. The pages are found from the app's routes, so a new page is walked too;
a page with a URL variable this file does not know fails the test until someone adds a sample value."""
import re
from dataclasses import dataclass

import pytest

from checkpoints.models import SiteKind
from checkpoints.sites import create_site
from core.accounts import SYSTEM, FirmRole, Role
from tests.api.helpers import uscc
from tests.api.pass_helpers import build_world, issued, pass_json
from tests.api.web_helpers import sign_in
from tests.factories import WEB_PASSWORD, make_firm, make_person, make_web_user

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
RTL = "\u202eevil"
LONG = "长" * 2000
HOSTILE = f"{SCRIPT}{IMG}{RTL}"
RAW_MARKUP = re.compile(r"<script>alert\(1\)|<img src=x onerror", re.IGNORECASE)
PAGE_BLUEPRINTS = {"web", "auth", "portal", "console", "scan", "yard", "pass_print"}


@dataclass
class Seeded:
    values: dict[str, str]


@pytest.fixture
def seeded(client, session, areas, cipher, now):
    world = build_world(session, areas, cipher, now)
    # The world's firm gets a hostile person; a second, hostile-named firm exists beside it.
    make_person(session, areas, cipher, now, firm_id=world.firm_id, name=HOSTILE, id_number="11010519491231002X")
    make_firm(session, areas, now, uscc=uscc("MA5G0X01"), name=HOSTILE + LONG[:100], area_code="440304001")
    body = issued(client, world)
    # Through the API, which refuses direction overrides (422); the services above store them as-is.
    pending = client.post("/api/v1/passes", json=pass_json(world, vehicle=1, purpose=HOSTILE.replace(RTL, "")),
                          headers=world.headers("firm")).get_json()
    yard = create_site(session, data=dict(name=HOSTILE, kind=SiteKind.RELAY_YARD, area_code="440304001",
                                          lat=22.5, lon=114.0, capacity=20), actor=SYSTEM, areas=areas, now=now)
    make_web_user(session, areas, now, Role.FIRM, username="xss.manager", firm_id=world.firm_id,
                  firm_role=FirmRole.MANAGER, name=HOSTILE)
    values = {"pass_id": body["id"], "yard_id": str(yard.id), "code": "en", "person_id": "1",
              "vehicle_id": str(world.vehicle_ids[0]), "firm_id": str(world.firm_id), "pending_id": pending["id"],
              "handover_id": "1", "object_type": "pass", "object_id": body["id"]}
    return Seeded(values)


def page_urls(app, values: dict) -> list[str]:
    urls = []
    for rule in app.url_map.iter_rules():
        blueprint = rule.endpoint.rpartition(".")[0]
        if "GET" not in rule.methods or blueprint not in PAGE_BLUEPRINTS or rule.endpoint.endswith("static"):
            continue
        if rule.rule.endswith((".js", ".pdf", ".csv", ".png", ".svg", ".json")) or rule.endpoint == "web.switch_language":
            continue  # files and redirects, not pages
        missing = [name for name in rule.arguments if name not in values]
        assert not missing, f"add a sample value for {missing} of {rule.rule} to this test"
        urls.append(re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda m: values[m.group(1)], rule.rule))
    return sorted(set(urls))


def assert_inert(response, url):
    assert response.status_code < 500, url
    text = response.get_data(as_text=True)
    assert not RAW_MARKUP.search(text), f"{url} shows hostile text as markup"


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_every_page_shows_hostile_text_inert_to_strangers_and_signed_in_firms(app, client, seeded, language):
    urls = page_urls(app, seeded.values)
    assert "/portal/" in urls and "/signin" in urls
    headers = {"Accept-Language": language}
    for url in urls:
        assert_inert(client.get(url, headers=headers), url)
    assert sign_in(client, "xss.manager", WEB_PASSWORD).status_code == 303
    escaped = 0
    for url in urls:
        response = client.get(url, headers=headers, follow_redirects=True)
        assert_inert(response, url)
        escaped += "&lt;script&gt;alert(1)&lt;/script&gt;" in response.get_data(as_text=True)
    assert escaped >= 1, "no page showed the hostile text at all: the sweep proves nothing"
