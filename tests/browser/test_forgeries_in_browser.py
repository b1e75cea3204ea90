"""The forged passes of tests/security/test_forgeries.py, checked by the browser's verifier (web/static/scan/
verify.js, in Debian's headless Chromium) against the documents a device syncs: each is rejected with the
reasons the online scan gives, and the genuine pass is accepted, as online."""
import base64

from tests.integration import test_verifier_parity as parity
from tests.security.test_forgeries import NANYUAN, VARIANTS, _forge

scene = parity.scene

CHECK_ALL = """async ([docs, area, at, qrs]) => {
    const V = window.GreenLaneVerifier, bytes = s => Uint8Array.from(atob(s), c => c.charCodeAt(0));
    const {keys, trust} = await V.loadSignedTrustList(bytes(docs.trust));
    const data = {keys, trust, statusList: await V.loadStatusList(bytes(docs.status), keys),
                  testAges: await V.loadTestAges(bytes(docs.ages), keys),
                  policy: await V.loadPolicy(bytes(docs.policy), keys)};
    const out = [];
    for (const qr of qrs) {
        out.push((await V.checkPass(qr, {...data, siteArea: area, siteId: null, at, plateSeen: null})).reasons);
    }
    return out;
}"""


def test_the_browser_verifier_rejects_every_forgery_for_the_reason_the_online_scan_gives(scene, server, browser):
    genuine = scene.issue(0).qr
    forged = {variant: _forge(scene, genuine, variant) for variant in VARIANTS}
    online = {variant: scene.online(qr, site=NANYUAN, at=scene.now) for variant, qr in forged.items()}
    docs = dict(zip(("trust", "status", "policy", "ages"), scene.files(scene.now)))
    page = browser.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{server}/scan")
    page.wait_for_function("() => window.GreenLaneVerifier !== undefined")
    qrs = [genuine] + list(forged.values())
    got = page.evaluate(CHECK_ALL, [{name: base64.b64encode(doc).decode() for name, doc in docs.items()},
                                    NANYUAN, int(scene.now.timestamp()), qrs])
    assert got[0] == []  # no reason: accepted
    mismatches = {variant: (online[variant]["reasons"], browser_says)
                  for variant, browser_says in zip(forged, got[1:]) if browser_says != online[variant]["reasons"]}
    assert mismatches == {}
    assert all(online[v]["verdict"] == "reject" and online[v]["reasons"] for v in VARIANTS)
    assert errors == []
