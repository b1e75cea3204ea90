"""The officers' scanner page (GET /scan) in a real headless Chromium against the real app on a local port:
sign-in, an online scan, offline verdicts computed in the browser (valid, revoked, tampered, plate),
the offline queue surviving a reload, and its upload recorded exactly once per client_scan_id."""
import base64
import json
import os
from datetime import datetime, timedelta, timezone

import base45
import cbor2
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import func, select

from core.accounts import SYSTEM, Actor, Role
from core.signing import Signer, b64url, key_id, sig_structure
from checkpoints.models import Scan, SiteKind
from checkpoints.sites import create_site
from passes import services
from passes.policy import Policy, RiskLevel, encode_bundle
from passes.statuslist import pack_status_bits, payload_from_bits
from passes.testages import build_test_ages_payload
from passes.verifier import (OfflineData, check_offline, load_policy, load_signed_trust_list, load_status_list,
                             load_test_ages, load_trust_list)
from core.trustlist import TrustEntry, encode_trust_list
from tests.browser.shots import screenshot_dir
from tests.factories import make_firm, make_person, make_token, make_vehicle, pass_data, record_negative_test

sync_api = pytest.importorskip("playwright.sync_api", reason="pip install -r requirements-dev.txt")
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
TIMEOUT_MS = 30_000
SITE_AREA = "440304001"  # 南园街道, Futian
PLATES = ["粤B12345", "粤B23456", "粤B34567"]

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM),
                                reason="needs Debian's chromium (apt-get install chromium)")


def clock() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


@pytest.fixture
def world(app, session, areas, cipher):
    """A checkpoint site in Nanyuan with an officer, and three issued passes whose scope is that street."""
    now = clock()
    firm, _ = make_firm(session, areas, now)
    driver = make_person(session, areas, cipher, now, firm_id=firm.id)
    record_negative_test(session, cipher, now)  # without a fresh test the status list suspends the pass
    site = create_site(session, data=dict(name="南园检查站", kind=SiteKind.CHECKPOINT, area_code=SITE_AREA,
                                          lat=22.54, lon=114.09), actor=SYSTEM, areas=areas, now=now)
    officer = make_token(session, areas, now, Role.OFFICER, site_id=site.id, name="检查员 王")
    firm_actor = Actor(None, "firm", Role.FIRM, firm_id=firm.id)
    passes = []
    for plate in PLATES:
        vehicle = make_vehicle(session, areas, now, firm_id=firm.id, plate=plate)
        applied = services.apply_for_pass(session, data=pass_data(vehicle_id=vehicle.id, driver_ids=[driver.id],
                                                                  now=now, scope=(SITE_AREA,)),
                                          actor=firm_actor, areas=areas, max_days=7, now=now)
        approved = services.approve_pass(session, applied.id, actor=SYSTEM, areas=areas,
                                         ring=app.extensions["keyring"], now=now)
        passes.append({"id": approved.id, "qr": approved.qr})
    return {"site": site.id, "officer": officer, "valid": passes[0], "revoked": passes[1], "late": passes[2]}


@pytest.fixture
def browser_page():
    """A fresh Chromium context and page that records console errors, page errors and CSP violations."""
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=TIMEOUT_MS)
        context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai")
        context.set_default_timeout(TIMEOUT_MS)
        # Init scripts run before the page's own code and are not subject to its CSP.
        context.add_init_script("document.addEventListener('securitypolicyviolation', e => console.error("
                                "'CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI));")
        page = context.new_page()
        errors = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
        try:
            yield context, page, errors
        finally:
            context.close()
            browser.close()


def scans_in_db(app) -> list[Scan]:
    with app.extensions["db"].sessionmaker() as s:
        return list(s.scalars(select(Scan).order_by(Scan.id)))


def tampered_signature(qr: str) -> str:
    """The same pass with one bit of its Ed25519 signature (the last bytes of the COSE) flipped."""
    cose = bytearray(base45.b45decode(qr[4:]))
    cose[-1] ^= 0x01
    return "GL1:" + base45.b45encode(bytes(cose)).decode("ascii")


def scan(page, qr: str, plate: str = "") -> dict:
    """Type like a keyboard-wedge scanner (text, then Enter) and return the verdict shown."""
    page.evaluate("() => { const v = document.getElementById('verdict'); v.hidden = true; delete v.dataset.verdict; }")
    if plate:
        page.fill("#plate", plate)
    page.fill("#qr", qr)
    page.press("#qr", "Enter")
    page.wait_for_selector("#verdict[data-verdict]:not([hidden])")
    return page.evaluate("""() => {
        const v = document.getElementById('verdict');
        const text = id => document.getElementById(id).textContent;
        return {verdict: v.dataset.verdict, mode: v.dataset.mode, word: text('verdict-word'), plate: text('plate-big'),
                reasons: [...v.querySelectorAll('#reasons li[data-reason]')].map(li => li.dataset.reason),
                reasonText: text('reasons'), details: text('details')};
    }""")


def wait_until(page, condition: str, errors: list) -> None:
    """page.wait_for_function, but a timeout says what the page showed and logged."""
    try:
        page.wait_for_function(condition)
    except sync_api.TimeoutError:
        shown = page.evaluate("() => ['sync-error', 'scan-error', 'signin-error', 'queue-len', 'last-sync']"
                              ".map(id => id + ': ' + document.getElementById(id).textContent)")
        raise AssertionError(f"timed out waiting for {condition}; page: {shown}; console: {errors}") from None


def queue_length(page) -> int:
    return int(page.text_content("#queue-len"))


def test_the_scanner_page_verifies_online_and_offline_and_uploads_each_scan_once(app, session, server, world,
                                                                                  browser_page):
    context, page, errors = browser_page
    response = page.goto(f"{server}/scan")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.fill("#token", world["officer"])
    page.click("#signin-btn")
    page.wait_for_selector("#scanner:not([hidden])")
    assert page.text_content("#site-name") == "南园检查站"
    wait_until(page, "() => document.getElementById('last-sync').textContent !== '—'", errors)
    # Headless Chromium lists no media devices at all, as some browsers do before the permission: offered.
    page.wait_for_selector("#camera-btn:not([hidden])")

    # Online: the server's verdict, recorded.
    online = scan(page, world["valid"]["qr"])
    assert (online["verdict"], online["mode"], online["reasons"]) == ("accept", "online", [])
    assert online["word"] == "通过" and online["plate"] == PLATES[0]  # the page's language: Chinese here
    assert "南园街道" in online["details"] and "李师傅" in online["details"]  # scope names, drivers
    recorded = scans_in_db(app)
    assert [(s.pass_id, s.verdict.value, s.site_id) for s in recorded] == [
        (world["valid"]["id"], "accept", world["site"])]

    # A pass revoked before the last sync is rejected offline.
    services.change_pass_status(session, world["revoked"]["id"], "revoke", actor=SYSTEM, areas=app.extensions["areas"],
                                reason="吊销 test", now=clock())
    synced = page.evaluate("() => JSON.parse(localStorage.getItem('gl.scan.lastSync'))")
    page.click("#sync-now")
    wait_until(page, f"() => JSON.parse(localStorage.getItem('gl.scan.lastSync')) > {synced}", errors)
    assert page.text_content("#sync-error") == ""
    wait_until(page, "() => navigator.serviceWorker.controller !== null", errors)  # the shell is cached

    context.set_offline(True)
    page.wait_for_selector("#net[data-online='false']")
    valid = scan(page, world["valid"]["qr"])
    assert (valid["verdict"], valid["mode"], valid["reasons"]) == ("accept", "offline", [])
    assert valid["plate"] == PLATES[0] and "南园街道" in valid["details"]
    assert queue_length(page) == 1
    revoked = scan(page, world["revoked"]["qr"])
    assert (revoked["verdict"], revoked["mode"], revoked["reasons"]) == ("reject", "offline", ["revoked"])
    assert revoked["reasonText"] == "通行证已吊销" and revoked["word"] == "拒绝"
    forged = scan(page, tampered_signature(world["valid"]["qr"]))
    assert (forged["verdict"], forged["reasons"]) == ("reject", ["bad_signature"])
    broken = scan(page, world["valid"]["qr"][:-7])
    assert (broken["verdict"], broken["reasons"]) == ("reject", ["malformed"])
    wrong_plate = scan(page, world["valid"]["qr"], plate="粤B99999")
    assert (wrong_plate["verdict"], wrong_plate["reasons"]) == ("reject", ["plate_mismatch"])
    assert "车牌不符" in wrong_plate["reasonText"]
    same_plate = scan(page, world["valid"]["qr"], plate="粤ｂ·１２３４５")  # full-width, dot: normalised
    assert (same_plate["verdict"], same_plate["reasons"]) == ("accept", [])
    # Revoked while the device is offline: accepted here, and the server's reject is shown after upload.
    services.change_pass_status(session, world["late"]["id"], "revoke", actor=SYSTEM, areas=app.extensions["areas"],
                                reason="吊销 test", now=clock())
    late = scan(page, world["late"]["qr"])
    assert (late["verdict"], late["mode"]) == ("accept", "offline")
    assert queue_length(page) == 7
    assert len(scans_in_db(app)) == 1  # nothing reached the server
    queued = page.evaluate("() => JSON.parse(localStorage.getItem('gl.scan.queue'))")
    ids = [item["scan"]["client_scan_id"] for item in queued]
    assert len(set(ids)) == 7 and all(item["scan"]["scanned_at"] for item in queued)

    # The page reloads without network (service worker) and keeps its queue and synced data.
    assert page.reload().from_service_worker
    page.wait_for_selector("#scanner:not([hidden])")
    assert queue_length(page) == 7
    again = scan(page, world["revoked"]["qr"])
    assert (again["mode"], again["reasons"]) == ("offline", ["revoked"])
    ids.append(page.evaluate("() => JSON.parse(localStorage.getItem('gl.scan.queue')).at(-1).scan.client_scan_id"))

    # Back online: the queue drains, each scan recorded once with the server's own verdict.
    context.set_offline(False)
    wait_until(page, "() => document.getElementById('queue-len').textContent === '0'", errors)
    disagreements = page.eval_on_selector_all("#disagreements li", "items => items.map(li => "
                                              "[li.dataset.server, li.dataset.reasons, li.textContent])")
    assert [(server, reasons) for server, reasons, _ in disagreements] == [("reject", "revoked")]
    assert f"{PLATES[2]}：离线通过，服务器拒绝" in disagreements[0][2] and "通行证已吊销" in disagreements[0][2]
    recorded = scans_in_db(app)
    by_client = {s.client_scan_id: s for s in recorded if s.client_scan_id in ids}
    assert len(recorded) == 1 + len(ids) and len(by_client) == len(ids)
    assert [(by_client[i].verdict.value, by_client[i].reasons) for i in ids] == [
        ("accept", []), ("reject", ["revoked"]), ("reject", ["bad_signature"]), ("reject", ["malformed"]),
        ("reject", ["plate_mismatch"]), ("accept", []), ("reject", ["revoked"]), ("reject", ["revoked"])]
    assert by_client[ids[0]].scanned_at < by_client[ids[-1]].scanned_at <= clock() + timedelta(seconds=1)

    # A retry of uploads whose answers were lost (put back in the queue, page reloaded) records nothing new.
    page.evaluate(f"() => localStorage.setItem('gl.scan.queue', {json.dumps(json.dumps(queued))})")
    uploads = []
    page.on("request", lambda r: uploads.append(r) if r.method == "POST" and r.url.endswith("/api/v1/scans") else None)
    page.reload()
    page.wait_for_selector("#scanner:not([hidden])")
    wait_until(page, "() => document.getElementById('queue-len').textContent === '0'", errors)
    assert sorted(json.loads(r.post_data)["client_scan_id"] for r in uploads) == sorted(ids[:-1])
    with app.extensions["db"].sessionmaker() as s:
        assert s.scalar(select(func.count()).select_from(Scan)) == len(recorded)

    assert errors == []


# ---- the same cases through passes/verifier.py and through the page's rules -----------------------------

T0 = 1767196800  # 2026-01-01 00:00 +08:00
T1 = T0 + 7 * 86400
KEYS = {name: Ed25519PrivateKey.from_private_bytes(bytes(range(i, i + 32)))
        for i, name in enumerate(["active", "revoked", "unlisted", "retired"])}


def _kid(name: str) -> bytes:
    return key_id(KEYS[name].public_key())


_OMIT = object()


def _claims(changes: dict | None = None) -> dict:
    """The claims map of a typical pass, with some keys changed (or left out with _OMIT)."""
    claims = {1: "7K3M9QXA", 2: 0, 3: "粤B12345", 4: [440304001], 5: 2, 6: T0, 7: T1, **(changes or {})}
    return {k: v for k, v in claims.items() if v is not _OMIT}


def _cose(payload: bytes | dict, *, key="active", protected=None, unprotected=b"\xa0", head=b"\x84", tag=b"",
          signature=None, trailing=b"", signed_payload=None) -> bytes:
    """A COSE_Sign1 built byte by byte, so that every part can be made wrong on purpose."""
    payload = payload if isinstance(payload, bytes) else cbor2.dumps(payload, canonical=True)
    protected = protected if protected is not None else cbor2.dumps({1: -8, 4: _kid(key)}, canonical=True)
    if signature is None:
        signature = KEYS[key].sign(sig_structure(protected, signed_payload or payload))
    return (tag + head + cbor2.dumps(protected) + unprotected + cbor2.dumps(payload) + cbor2.dumps(signature)
            + trailing)


def _qr(cose: bytes) -> str:
    return "GL1:" + base45.b45encode(cose).decode("ascii")


def _offline_documents(areas) -> tuple[dict, bytes, bytes]:
    trust = {"keys": [{"kid": b64url(_kid(name)), "kty": "OKP", "crv": "Ed25519", "status": status,
                       "x": b64url(KEYS[name].public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))}
                      for name, status in [("active", "active"), ("revoked", "revoked"), ("retired", "retired")]]
                     + [{"kid": "AAAAAAAAAAA", "kty": "EC", "crv": "P-256", "x": "", "status": "active"}]}
    signer = Signer(KEYS["active"])
    bits = bytearray(pack_status_bits({1: 1, 2: 2}, 12))
    bits[0] |= 0b11  # serial 3: the reserved value 3
    status = signer.sign(payload_from_bits(5, T0, bytes(bits)))
    policy = Policy(parents=dict(areas.parents), risk={"440304002": RiskLevel.SEALED, "440305": RiskLevel.CONTROLLED},
                    routes={(3, 17): (5,)}, version=2, issued_at=T0)
    return trust, status, signer.sign(encode_bundle(policy))


def _cases() -> list[dict]:
    """(qr, site area, site id, time, plate seen): every offline rule, its edges, and broken encodings."""
    valid = _cose(_claims())
    border = _cose(_claims({3: "粤Z1234港", 5: 8, 8: [3, 17], 9: "AB1234"}))  # a route-bound pass
    flipped = bytearray(valid)
    flipped[-1] ^= 1
    c = []

    def add(cose_or_text, area="440304001", site=42, at=T0 + 3600, plate=None):
        qr = cose_or_text if isinstance(cose_or_text, str) else _qr(cose_or_text)
        c.append({"qr": qr, "area": area, "site": site, "at": at, "plate": plate})

    add(valid)
    add(b"\xd2" + valid)  # the tagged form
    for serial in (1, 2, 3, 11, 12, 50, 2**60, 2**64 - 1):  # suspended, revoked, reserved, last, beyond the list
        add(_cose(_claims({2: serial})))
    for at in (T0 - 1, T0, T1 - 1, T1, 0):
        add(valid, at=at)
    add(_cose(_claims({7: 2**64 - 1})), at=2**40)
    for scope, area in [([440305], "440304001"), ([440304], "440304001"), ([440304], "440304002"),
                        ([440304002], "440304002"), ([440300], "440304002"), ([440300], "440305001"),
                        ([999999], "440304001"), ([440304001, 440304002], "440304002"), ([440304001], "999999"),
                        ([440305, 440304], "440304002")]:
        add(_cose(_claims({4: scope})), area=area)
    for site in (5, 3, 17, 9, None):
        add(border, site=site)
    for plate in ("粤B12345", "粤b12345", " 粤B 12345 ", "粤Ｂ１２３４５", "粤B·12345", "粤B-123.45", "粤B1234\u30005",
                  "粤B1234\x1c5", "粤B1234\ufeff5", "粤B1234\u200b5", "粤B99999", "AB1234", ""):
        add(valid, plate=plate)
    for plate in ("ab 1234", "粤Z1234港", "粤z1234港", "AB1235"):
        add(border, plate=plate, site=3)
    add(_cose(_claims(), key="revoked"))
    add(_cose(_claims(), key="revoked"), at=T1)
    add(_cose(_claims(), key="retired"))
    add(_cose(_claims(), key="unlisted"))
    add(bytes(flipped))
    bad_revoked = bytearray(_cose(_claims(), key="revoked"))
    bad_revoked[-1] ^= 1
    add(bytes(bad_revoked))
    add(_cose(_claims({10: 1})))  # unknown claim key, properly signed
    add(_cose(_claims({3: "\ufeff粤B12345"})), plate="粤B12345")  # a BOM is a character like any other
    add(_cose(b"\xa7\x02\x00\x01\x687K3M9QXA" + cbor2.dumps(_claims())[13:]))  # keys out of order
    add(_cose(cbor2.dumps(_claims(), canonical=True).replace(b"\x02\x00", b"\x02\x1a\x00\x00\x00\x00", 1)))
    for changes in ({9: None}, {5: 9}, {4: []}, {7: T0}, {3: ""}, {6: float(T0)}, {8: [3]}, {2: True}, {4: [-1]},
                    {1: b"7K3M9QXA"}, {2: _OMIT}):
        add(_cose(_claims(changes)))  # signed, but not a valid claims map
    add(_cose(_claims(), signed_payload=cbor2.dumps(_claims({2: 1}), canonical=True)))  # payload swapped
    add(_cose(cbor2.dumps(_claims()) + b"\x00"))  # trailing byte inside the payload
    protected = cbor2.dumps({1: -8, 4: _kid("active")}, canonical=True)
    add(_cose(_claims(), head=b"\x98\x04"))  # non-shortest array length
    add(b"\x9f" + _cose(_claims())[1:] + b"\xff")  # indefinite-length array
    add(_cose(_claims(), unprotected=b"\xa1\x01\x27"))
    add(_cose(_claims(), protected=cbor2.dumps({1: -7, 4: _kid("active")}, canonical=True)))
    add(_cose(_claims(), protected=cbor2.dumps({1: -8, 4: _kid("active")[:7]}, canonical=True)))
    add(_cose(_claims(), protected=b"\xa2\x04\x48" + _kid("active") + b"\x01\x27"))  # header keys reordered
    add(_cose(_claims(), protected=protected + b"\x00"))
    add(_cose(_claims(), signature=b"\x00" * 63))
    add(_cose(_claims(), trailing=b"\x00"))
    add(_cose(_claims(), tag=b"\xd2\xd2"))
    add(_cose(_claims(), tag=b"\xd8\x12"))  # tag 18 in a longer form
    add(_cose(_claims(), tag=b"\xc1"))
    text = _qr(valid)
    for qr in (text.lower(), "gl1:" + text[4:], f" \r\n{text}\r\n", f"\u3000{text}\x1c", f"\ufeff{text}", "GL1:",
               "", "GL1:ab", text + "0", "GL1:::::", "GL1:" + "0" * 6147, text[:-1], text.replace("GL1:", "GL2:")):
        add(qr)
    return c


def test_the_page_gives_the_verdicts_of_passes_verifier(app, areas, server, browser_page):
    context, page, errors = browser_page
    page.goto(f"{server}/scan")
    page.wait_for_function("() => window.GreenLaneVerifier !== undefined")
    trust, status, policy_cose = _offline_documents(areas)
    keys = load_trust_list(trust)
    data = OfflineData(keys, load_status_list(status, keys), load_policy(policy_cose, keys))
    cases = _cases()
    expected = [list(check_offline(case["qr"], data=data, site_area=case["area"], at=case["at"],
                                   plate_seen=case["plate"], site_id=case["site"]).reasons) for case in cases]
    got = page.evaluate("""async ([trust, status, policy, cases]) => {
        const V = window.GreenLaneVerifier, bytes = s => Uint8Array.from(atob(s), c => c.charCodeAt(0));
        const keys = V.loadTrustList(trust);
        const data = {keys, statusList: await V.loadStatusList(bytes(status), keys),
                      policy: await V.loadPolicy(bytes(policy), keys)};
        const out = [];
        for (const c of cases) {
            const at = c.at, plateSeen = c.plate;
            out.push((await V.checkPass(c.qr, {...data, siteArea: c.area, siteId: c.site, at, plateSeen})).reasons);
        }
        return out;
    }""", [trust, base64.b64encode(status).decode(), base64.b64encode(policy_cose).decode(), cases])
    mismatches = [(case["qr"][:40], case["area"], case["site"], case["at"], case["plate"], want, have)
                  for case, want, have in zip(cases, expected, got) if want != have]
    assert mismatches == []
    seen = {reason for reasons in expected for reason in reasons}
    assert seen == {"malformed", "bad_signature", "unknown_key", "key_revoked", "revoked", "suspended", "not_yet_valid",
                    "expired", "out_of_scope", "sealed_zone", "plate_mismatch", "site_required", "stale_status_list",
                    "stale_policy"}
    assert [] in expected and len(cases) > 90
    assert errors == []


# ---- issues 11 and 12: documents that say how old they are, each zone's own test age -----------------------

HOUR = 3600
AGES = {0: 60, 1: 30 * 60, 2: 24 * 60 - 1, 3: 24 * 60, 5: 71 * 60}  # minutes at T0; serial 4: NO_AGE


def _signed_documents(areas, *, issued_at=T0) -> dict:
    """The four documents a device syncs, signed with the test keys: trust list, status list, test ages list
    (12 serials) and policy bundle (a controlled district, a sealed street)."""
    signer = Signer(KEYS["active"])
    raw = lambda name: KEYS[name].public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)  # noqa: E731
    trust = signer.sign(encode_trust_list(
        [TrustEntry(_kid("active"), raw("active"), "active", T0 - 86400),
         TrustEntry(_kid("revoked"), raw("revoked"), "revoked", T0 - 86400, T0 - 3600)],
        issued_at=issued_at, expires_at=issued_at + 7 * 86400))
    status = signer.sign(payload_from_bits(5, issued_at, pack_status_bits({7: 1}, 12), count=12))
    ages = signer.sign(build_test_ages_payload(5, issued_at, issued_at + 86400, AGES, 12))
    policy = Policy(parents=dict(areas.parents), risk={"440304002": RiskLevel.SEALED, "440305": RiskLevel.CONTROLLED},
                    version=2, issued_at=issued_at)
    return {"trust": trust, "status": status, "ages": ages, "policy": signer.sign(encode_bundle(policy))}


def test_the_page_applies_expiry_and_each_zones_test_age_like_passes_verifier(app, areas, server, browser_page):
    context, page, errors = browser_page
    page.goto(f"{server}/scan")
    page.wait_for_function("() => window.GreenLaneVerifier !== undefined")
    docs = _signed_documents(areas)
    keys, trust = load_signed_trust_list(docs["trust"])
    data = OfflineData(keys, load_status_list(docs["status"], keys), load_policy(docs["policy"], keys), trust,
                       load_test_ages(docs["ages"], keys))
    cases = [{"qr": _qr(_cose(_claims({2: serial, 4: [440300]}))), "area": area, "site": None, "at": at,
              "plate": None}
             for serial in (0, 1, 2, 3, 4, 5, 7, 11, 12)
             for area in ("440304001", "440305001", "440304002")
             for at in (T0 - 60, T0, T0 + HOUR, T0 + 86400 - 1, T0 + 86400, T0 + 7 * 86400)]
    expected = [list(check_offline(c["qr"], data=data, site_area=c["area"], at=c["at"]).reasons) for c in cases]
    got = page.evaluate("""async ([docs, cases]) => {
        const V = window.GreenLaneVerifier, bytes = s => Uint8Array.from(atob(s), c => c.charCodeAt(0));
        const {keys, trust} = await V.loadSignedTrustList(bytes(docs.trust));
        const data = {keys, trust, statusList: await V.loadStatusList(bytes(docs.status), keys),
                      testAges: await V.loadTestAges(bytes(docs.ages), keys),
                      policy: await V.loadPolicy(bytes(docs.policy), keys)};
        const out = [];
        for (const c of cases) out.push((await V.checkPass(c.qr, {...data, siteArea: c.area, siteId: c.site,
                                                                  at: c.at, plateSeen: c.plate})).reasons);
        return out;
    }""", [{k: base64.b64encode(v).decode() for k, v in docs.items()}, cases])
    mismatches = [(c["qr"][:30], c["area"], c["at"] - T0, want, have)
                  for c, want, have in zip(cases, expected, got) if want != have]
    assert mismatches == []
    by = {(c["area"], c["at"] - T0, _serial(c)): tuple(r) for c, r in zip(cases, expected)}
    # 30 minutes short of a day: fresh in a normal street, too old in the controlled district (24 h).
    assert by[("440304001", HOUR, 1)] == () and by[("440305001", HOUR, 1)] == ("test_stale",)
    assert by[("440305001", 0, 2)] == () and by[("440305001", HOUR, 2)] == ("test_stale",)  # ages after issue
    assert by[("440305001", 0, 4)] == ()  # no age kept: the status list speaks for it
    assert by[("440304001", 86400 - 1, 0)] == () and by[("440304001", 86400, 0)] == ("stale_status_list",)
    assert by[("440304001", 7 * 86400, 0)][:3] == ("stale_trust_list", "stale_status_list", "stale_policy")
    assert by[("440304001", 0, 12)] == ("suspended",) and by[("440304002", 0, 0)] == ("sealed_zone",)
    assert errors == []


def _serial(case) -> int:
    return cbor2.loads(cbor2.loads(base45.b45decode(case["qr"][4:]))[2])[2]


@pytest.mark.parametrize("hours,banner", [(1, None), (19, "warn"), (25, "expired")])
def test_the_page_shows_how_old_its_data_is_and_warns_before_it_expires(app, areas, server, browser_page, world,
                                                                        hours, banner):
    context, page, errors = browser_page
    docs = _signed_documents(areas)
    me = {"account_id": 1, "name": "检查员 王", "role": "officer",
          "site": {"id": world["site"], "name": "南园检查站", "kind": "checkpoint", "area_code": SITE_AREA}}
    page.clock.install(time=datetime.fromtimestamp(T0 + hours * HOUR, timezone.utc))
    page.goto(f"{server}/scan")
    page.evaluate("""([token, me, docs]) => {
        localStorage.setItem('gl.scan.token', token);
        localStorage.setItem('gl.scan.me', JSON.stringify(me));
        localStorage.setItem('gl.scan.docs', JSON.stringify(Object.fromEntries(Object.entries(docs)
            .map(([name, body]) => [name, {body, etag: null}]))));
    }""", [world["officer"], me, {k: base64.b64encode(v).decode() for k, v in docs.items()}])
    page.route("**/api/v1/**", lambda route: route.abort())  # the network is gone: nothing replaces the data
    page.reload()
    page.wait_for_selector("#scanner:not([hidden])")
    page.wait_for_function("() => document.getElementById('data-age').textContent !== '—'")
    age = page.text_content("#data-age")
    ends = "已过期" if banner == "expired" else "到期"  # Beijing time: the status list, issued at 00:00
    assert age == f"{hours} 小时前签发，01/02 00:00 {ends}", age
    shown = page.evaluate("() => { const b = document.getElementById('data-alert'); "
                          "return {hidden: b.hidden, level: b.dataset.level, text: b.textContent}; }")
    if banner is None:
        assert shown["hidden"]
    else:
        assert not shown["hidden"] and shown["level"] == banner
        assert ("通行证状态名单" in shown["text"]) == (banner == "expired")
        assert ("过期" in shown["text"]) and ("联网同步" in shown["text"])
    qr = _qr(_cose(_claims({2: 0, 4: [440304001], 3: "粤B12345"})))
    verdict = scan(page, qr)
    want = ["stale_status_list"] if banner == "expired" else []
    assert (verdict["mode"], verdict["reasons"]) == ("offline", want)
    if want:
        assert "已过期，请联网同步" in verdict["reasonText"]
    for language in ("zh", "en"):
        if language == "en":
            context.add_cookies([{"name": "greenlane_lang", "value": "en", "url": server}])
            page.reload()
            page.wait_for_function("() => document.getElementById('data-age').textContent !== '—'")
            assert page.text_content("#data-age").startswith(f"issued {hours} h ago")
        for size, (width, height) in (("phone", (390, 844)), ("desk", (1280, 900))):
            page.set_viewport_size({"width": width, "height": height})
            page.screenshot(path=screenshot_dir() / f"scan-data-age-{hours}h-{size}-{language}.png", full_page=True)
            assert page.evaluate("() => document.documentElement.scrollWidth") <= width
    assert [e for e in errors if "net::ERR_FAILED" not in e] == []


def test_the_page_never_takes_a_document_older_than_one_it_has_accepted(server, world, browser_page):
    context, page, errors = browser_page
    page.goto(f"{server}/scan")
    # This device accepted a far newer status list before (a replayed or stale answer must not replace it).
    page.evaluate("() => localStorage.setItem('gl.scan.seen', JSON.stringify({status: 1000000}))")
    page.fill("#token", world["officer"])
    page.click("#signin-btn")
    page.wait_for_selector("#scanner:not([hidden])")
    wait_until(page, "() => document.getElementById('sync-error').textContent.includes('1000000')", errors)
    assert "通行证状态名单" in page.text_content("#sync-error") and "未采用" in page.text_content("#sync-error")
    assert page.evaluate("() => localStorage.getItem('gl.scan.docs')") is None
    assert page.text_content("#data-age") == "—"
    # Once the device's memory agrees (e.g. the same server's current list), the sync goes through.
    page.evaluate("() => localStorage.setItem('gl.scan.seen', JSON.stringify({status: 1}))")
    page.click("#sync-now")
    wait_until(page, "() => localStorage.getItem('gl.scan.docs') !== null", errors)
    seen = page.evaluate("() => JSON.parse(localStorage.getItem('gl.scan.seen'))")
    assert set(seen) == {"status", "ages", "policy"} and seen["status"] >= 1 and seen["ages"] == seen["status"]
    assert "分钟前签发" in page.text_content("#data-age")
    assert [e for e in errors if "1000000" not in e] == []
