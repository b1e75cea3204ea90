"""Issue 13 item 5: a route-bound pass verified offline without --site is rejected with `site_required`
(it used to be accepted anywhere in its scope). The three files come from the API; the command line is
passes.verifier.main, the browser page keeps the same vocabulary and rule."""
import json
import re
from pathlib import Path

import pytest

from passes import verifier
from tests.api.helpers import API
from tests.api.logistics_helpers import CROSSING_AREA, YARD_AREA, build_relay, clock
from web import scan as scan_page

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def relay(app, session, areas, cipher):
    return build_relay(session, areas, cipher, app.extensions["keyring"], clock())


@pytest.fixture
def synced(client, tmp_path) -> Path:
    """What a device syncs while online, written to files as the README's step 16 does."""
    for name, path in (("trust.json", "trust-list"), ("trust.cose", "trust-list/signed"), ("status.cose", "status-list"),
                       ("policy.cose", "policy-bundle"), ("ages.cose", "test-ages")):
        response = client.get(f"{API}/{path}")
        assert response.status_code == 200, response.get_data(as_text=True)
        (tmp_path / name).write_bytes(response.get_data())
    return tmp_path


def run(capsys, files: Path, qr: str, *, area: str, site: int | None = None) -> tuple[int, dict]:
    args = ["--trust-list", str(files / "trust.cose"), "--status-list", str(files / "status.cose"),
            "--policy", str(files / "policy.cose"), "--test-ages", str(files / "ages.cose"), "--area", area,
            "--at", clock().isoformat(), "--state", str(files / "state.json")]
    if site is not None:
        args += ["--site", str(site)]
    code = verifier.main(args + [qr])
    out, err = capsys.readouterr()
    assert err == ""
    return code, json.loads(out)


def test_a_route_pass_without_a_site_is_rejected_with_site_required_and_told_to_pass_site(relay, synced, capsys):
    code, body = run(capsys, synced, relay.qr["hk"], area=CROSSING_AREA)
    assert (code, body["verdict"], body["reasons"]) == (1, "reject", ["site_required"])
    assert body["pass"]["id"] == relay.pass_ids["hk"]
    assert "--site" in body["hint"] and "route" in body["hint"]


def test_the_same_route_pass_is_accepted_at_its_crossing_and_yard_and_refused_off_the_route(relay, synced, capsys):
    assert run(capsys, synced, relay.qr["hk"], area=CROSSING_AREA, site=relay.ids["crossing"])[0] == 0
    code, body = run(capsys, synced, relay.qr["hk"], area=YARD_AREA, site=relay.ids["yard"])
    assert (code, body["verdict"], body["reasons"]) == (0, "accept", [])
    assert "hint" not in body
    code, body = run(capsys, synced, relay.qr["hk"], area=YARD_AREA, site=relay.ids["checkpoint"])
    assert (code, body["reasons"]) == (1, ["out_of_scope"])
    assert "hint" not in body


def test_a_pass_without_a_route_needs_no_site(relay, synced, capsys):
    code, body = run(capsys, synced, relay.qr["mainland"], area=YARD_AREA)
    assert (code, body["verdict"], body["reasons"]) == (0, "accept", [])


def test_the_library_rule_lists_site_required_with_the_other_failures_in_vocabulary_order(relay, synced):
    trusted = verifier.load_trust_list(json.loads((synced / "trust.json").read_text(encoding="utf-8")))
    status = verifier.load_status_list((synced / "status.cose").read_bytes(), trusted)
    policy = verifier.load_policy((synced / "policy.cose").read_bytes(), trusted)
    common = dict(keys=trusted, pass_status=verifier.status_from_list(status), policy=policy,
                  at=int(clock().timestamp()))
    verdict = verifier.check_pass(relay.qr["hk"], site_area=YARD_AREA, plate_seen="粤B99999", **common)
    assert verdict.reasons == ("site_required", "plate_mismatch") and not verdict.accept
    assert verifier.check_pass(relay.qr["hk"], site_area=YARD_AREA, site_id=relay.ids["yard"], **common).accept
    assert verifier.REASONS.index("site_required") == verifier.REASONS.index("sealed_zone") + 1


def test_the_online_scan_always_has_a_site_so_never_answers_site_required(client, relay):
    response = client.post(f"{API}/scans", json={"qr": relay.qr["hk"]}, headers=relay.headers("officer"))
    assert response.status_code == 200, response.get_json()
    assert (response.get_json()["verdict"], response.get_json()["reasons"]) == ("accept", [])


def test_the_scanner_page_has_the_same_vocabulary_in_the_same_order_and_the_same_rule(app):
    script = (ROOT / "web/static/scan/verify.js").read_text(encoding="utf-8")
    codes = re.search(r"const REASONS = Object\.freeze\(\[(.*?)\]\);", script, re.S).group(1)
    assert re.findall(r'"(\w+)"', codes) == list(verifier.REASONS)
    # What the officer reads comes from the server's catalog (web/scan.py), in the page's language.
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        assert "站点" in scan_page.scanner_texts()["reasons"]["site_required"]
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert "site" in scan_page.scanner_texts()["reasons"]["site_required"].lower()
    assert re.search(r'siteId == null\) reasons\.push\("site_required"\)', script)
