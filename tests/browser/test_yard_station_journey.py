"""The yard clerk's station (issue 14) in Debian's headless Chromium: one load walked through every state from
the station, with a seal mismatch and its release, and the network cut between gate-in and seal check (the
queued step is uploaded once and in order); then the custody record and its signed download. Screenshots at
tablet (1024×768) and phone (390×844) size, zh and en, of the board and of a held load."""
import json

import pytest
from sqlalchemy import select

from core.accounts import Role
from logistics.models import HandoverEvent
from tests.api.logistics_helpers import build_relay, clock
from tests.api.pass_helpers import usable_keys, verify_cose
from tests.browser.shots import layout_problems, screenshot_dir, watch_errors
from tests.factories import make_web_user

pytest.importorskip("playwright.sync_api", reason="pip install -r requirements-dev.txt")
SIZES = {"tablet": (1024, 768), "phone": (390, 844)}
LOCALES = {"zh": "zh-CN", "en": "en-US"}
WALK = ["booked", "arrived", "seals_checked", "seals_checked", "disinfected", "dropped", "inbound_departed",
        "collected", "outbound_departed", "completed"]


@pytest.fixture
def relay(app, session, areas, cipher):
    relay = build_relay(session, areas, cipher, app.extensions["keyring"], clock())
    handover = relay.book(clock())
    relay.name_outbound(handover.id, clock())
    relay.ids["load"] = handover.id
    return relay


def station(browser, server, relay, *, size="tablet", language="zh"):
    width, height = SIZES[size]
    context = browser.new_context(locale=LOCALES[language], viewport={"width": width, "height": height},
                                  timezone_id="Asia/Shanghai", accept_downloads=True)
    page = context.new_page()
    return context, page, watch_errors(context, page)


def state_of(page) -> str:
    return page.get_attribute("#load", "data-state")


def wait_state(page, state: str):
    page.wait_for_selector(f"#load[data-state='{state}'] >> visible=true")
    page.wait_for_selector("#state-pending", state="hidden")


def test_a_load_walks_through_every_state_from_the_station(app, session, server, browser, relay):
    context, page, errors = station(browser, server, relay)
    posts = []
    page.on("request", lambda r: posts.append(r.post_data_json) if r.method == "POST" and r.url.endswith("/events")
            else None)
    yard, load = relay.ids["yard"], relay.ids["load"]
    try:
        page.goto(f"{server}/yards/{yard}")
        page.fill("#token", relay.tokens["yard"])
        page.click("#signin-btn")
        row = page.wait_for_selector(f"#waiting tr[data-id='{load}']")
        assert "粤Z1234港 / FV1234" in row.text_content() and "CSQU3054383" in row.text_content()
        assert row.query_selector("a.primary").text_content() == "扫司机通行证入场"  # the next step, in words

        page.click(f"#waiting tr[data-id='{load}'] a.primary")
        page.wait_for_selector("#scan-form >> visible=true")
        assert page.is_hidden("#seals-form") and page.is_hidden("#plain-steps button")  # only what booked allows
        page.fill("#qr", relay.qr["hk"])  # a keyboard-wedge scanner types the QR and Enter
        page.press("#qr", "Enter")
        page.wait_for_selector("#verdict[data-verdict='accept']")
        wait_state(page, "arrived")
        assert page.text_content("#plate-big") == "粤Z1234港 / FV1234"  # the plate to compare

        # The network goes between gate-in and seal check: the seal check is queued, nothing is sent.
        context.set_offline(True)
        page.wait_for_selector("#net[data-online='false']")
        sent = len(posts)
        page.fill("#seals-seen", "HK2026001, HK2026009")
        page.click("#seals-form button")
        page.wait_for_function("() => document.getElementById('events-pending').textContent === '1'")
        assert "联网上传后由服务器判定" in page.text_content("#step-note")
        assert page.is_hidden("#seals-form") and page.is_hidden("#plain-steps button")  # its outcome is unknown
        assert [li.get_attribute("data-type") for li in page.query_selector_all("#custody-events li.queued")] \
            == ["seals_checked"]
        assert len(posts) == sent

        context.set_offline(False)  # back online: uploaded, judged by the server: held, and which seal differs
        wait_state(page, "held")
        assert page.text_content("#events-pending") == "0"
        why = page.text_content("#held-why")
        assert "HK2026002" in why and "HK2026009" in why
        assert "重新核对封条" in page.text_content("#held-release")

        page.click("a.back")  # the board shows the held load first, in red
        held_row = page.wait_for_selector(f"#held tr[data-id='{load}']")
        assert "HK2026009" in held_row.text_content()
        page.click(f"#held tr[data-id='{load}'] a")
        page.wait_for_selector("#seals-form >> visible=true")
        page.fill("#seals-seen", "hk2026002 HK2026001")  # re-inspection after the regulator's check: released
        page.press("#seals-seen", "Enter")
        wait_state(page, "seals_ok")

        for step, state in [("disinfected", "disinfected"), ("dropped", "dropped"),
                            ("inbound_departed", "inbound_departed")]:
            page.click(f"#plain-steps button[data-step='{step}']")
            wait_state(page, state)
        page.wait_for_selector("#scan-form >> visible=true")
        assert page.text_content("#qr-label") == "扫提箱司机通行证"
        page.fill("#qr", relay.qr["mainland"])
        page.press("#qr", "Enter")
        wait_state(page, "collected")
        assert page.text_content("#plate-big") == "粤B12345"
        for step in ("outbound_departed", "completed"):
            page.click(f"#plain-steps button[data-step='{step}']")
            wait_state(page, step)
        assert page.is_hidden("#steps")  # nothing follows a completed load

        page.wait_for_function(f"() => document.querySelectorAll('#custody-events li').length === {len(WALK)}")
        shown = page.eval_on_selector_all("#custody-events li", "lis => lis.map(li => li.dataset.type)")
        assert shown == WALK
        first = page.text_content("#custody-events li:nth-child(2)")
        assert "福田接驳场" in first and "yard account" in first
        with page.expect_download() as download:
            page.click("#download-cose")
        signed = open(download.value.path(), "rb").read()
        keys = usable_keys(page.request.get(f"{server}/api/v1/trust-list").json()["keys"])
        document = json.loads(verify_cose(signed, keys)[1])
        assert [e["type"] for e in document["events"]] == WALK
        assert errors == []
    finally:
        context.close()

    # Uploaded once and in order: one event per step sent, each with its own id, in the order recorded.
    events = list(session.scalars(select(HandoverEvent).where(HandoverEvent.handover_id == load)
                                  .order_by(HandoverEvent.seq)))
    assert [e.type.value for e in events] == WALK
    assert [e.client_event_id for e in events[1:]] == [p["client_event_id"] for p in posts]
    assert len(set(p["client_event_id"] for p in posts)) == len(posts) == len(WALK) - 1
    assert events[2].data == {"seals_seen": ["HK2026001", "HK2026009"]} and events[2].state_after.value == "held"
    assert all(a.at <= b.at for a, b in zip(events, events[1:]))


def test_the_station_in_both_languages_at_tablet_and_phone_size(app, session, server, browser, relay):
    load = relay.ids["load"]
    relay.event(load, "arrived", clock())
    relay.event(load, "seals_checked", clock(), seals_seen=["HK2026001", "HK2026777"])
    relay.book(clock(), container_no="MSKU9070323")  # a waiting load
    words = {"zh": ("接驳场工作台", "扣留"), "en": ("Yard station", "Held")}
    for language in LOCALES:
        for size in SIZES:
            context, page, errors = station(browser, server, relay, size=size, language=language)
            context.add_init_script(f"localStorage.setItem('gl.scan.token', {json.dumps(relay.tokens['yard'])})")
            try:
                page.goto(f"{server}/yards/{relay.ids['yard']}")
                page.wait_for_selector(f"#held tr[data-id='{load}']")
                assert page.text_content("h1").startswith(words[language][0])
                assert words[language][1] in page.text_content(f"#held tr[data-id='{load}']")
                assert layout_problems(page) == [], (language, size)
                page.screenshot(path=str(screenshot_dir() / f"yard-station-{language}-{size}.png"), full_page=True)
                page.goto(f"{server}/yards/{relay.ids['yard']}/loads/{load}")
                page.wait_for_selector("#load[data-state='held'] >> visible=true")
                assert "HK2026777" in page.text_content("#held-why")
                assert layout_problems(page) == [], (language, size)
                page.screenshot(path=str(screenshot_dir() / f"yard-load-{language}-{size}.png"), full_page=True)
                assert errors == []
            finally:
                context.close()


def test_a_regulator_reads_the_station_and_both_sign_outs_clear_the_shared_token(app, session, areas, server, browser,
                                                                                 relay, session_cookie):
    regulator = make_web_user(session, areas, clock(), Role.REGULATOR, username="futian.reg", area_code="440304")
    context, page, errors = station(browser, server, relay)
    token = "() => localStorage.getItem('gl.scan.token')"
    try:
        page.goto(f"{server}/yards/{relay.ids['yard']}/loads/{relay.ids['load']}")
        page.fill("#token", relay.tokens["futian"])
        page.click("#signin-btn")
        page.wait_for_selector("#load[data-state='booked'] >> visible=true")
        assert page.is_visible("#read-only") and page.is_hidden("#steps")  # reads; records nothing here
        assert page.evaluate(token) == relay.tokens["futian"]

        page.wait_for_load_state("networkidle")  # the sign-in's document sync is done (else its /me answers 401)
        page.click("#sign-out")  # the station's (and scanner's) own sign-out
        page.wait_for_selector("#signin-form >> visible=true")
        assert page.evaluate(token) is None

        page.fill("#token", relay.tokens["futian"])
        page.click("#signin-btn")
        page.wait_for_selector("#load >> visible=true")
        page.wait_for_load_state("networkidle")  # as above: leaving mid-sync aborts its requests under load
        context.add_cookies(session_cookie(regulator))
        page.goto(f"{server}/account")
        page.click("header form button[type='submit']")  # the web sign-out
        page.wait_for_url("**/signin?signed_out=1")
        page.wait_for_function(f"{token} === null")
        page.goto(f"{server}/scan")
        page.wait_for_selector("#signin-form >> visible=true")  # signed out of the scanner too
        assert errors == []
    finally:
        context.close()
