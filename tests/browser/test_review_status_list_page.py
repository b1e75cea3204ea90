"""Issue 13 item 6 in the browser verifier (web/static/scan/verify.js): the status list's entry count (key 5)
decides which serials it knows; later serials are unknown, and a list without a consistent count or
padding is refused, exactly like passes.statuslist."""
import base64
import zlib

import cbor2
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from core.signing import Malformed, Signer, b64url
from passes.statuslist import build_status_payload, decode_status_payload
from tests.browser.test_scanner_page import browser_page  # noqa: F401 -- fixture

KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))  # published test key
SIGNER = Signer(KEY)
TRUST = {"keys": [{"kid": b64url(SIGNER.kid), "kty": "OKP", "crv": "Ed25519", "status": "active",
                   "x": b64url(KEY.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))}]}


def _payload(**changes) -> bytes:
    m = {1: 1, 2: 100, 3: 2, 4: zlib.compress(bytes([0b00_01_00_00, 0b00_11_11_11])), 5: 5, 6: 100 + 86400}
    for key, value in changes.items():
        if value is None:
            m.pop(int(key[1:]))
        else:
            m[int(key[1:])] = value
    return cbor2.dumps(m)


def _statuses_in_page(page, payloads: list[bytes]) -> list:
    """For each signed payload: the page's status of serials 0..7, or "error" when it refuses the list."""
    documents = [base64.b64encode(SIGNER.sign(p)).decode() for p in payloads]
    return page.evaluate("""async ([trust, documents]) => {
        const V = window.GreenLaneVerifier, bytes = s => Uint8Array.from(atob(s), c => c.charCodeAt(0));
        const keys = V.loadTrustList(trust), out = [];
        for (const d of documents) {
            try {
                const list = await V.loadStatusList(bytes(d), keys);
                out.push([0, 1, 2, 3, 4, 5, 6, 7].map(list.status));
            } catch (e) { out.push("error"); }
        }
        return out;
    }""", [TRUST, documents])


def test_the_page_reads_serials_past_the_count_as_unknown(server, browser_page):  # noqa: F811
    _, page, errors = browser_page
    page.goto(f"{server}/scan")
    page.wait_for_function("() => window.GreenLaneVerifier !== undefined")
    payload = build_status_payload(3, 1767196800, {1: 1}, 5)
    assert decode_status_payload(_payload()).bits == decode_status_payload(payload).bits  # same list
    got = _statuses_in_page(page, [payload])
    assert got == [[0, 1, 0, 0, 0, None, None, None]]
    assert [decode_status_payload(payload).status(n) for n in range(8)] == got[0]
    assert errors == []


@pytest.mark.parametrize("changes", [
    {"k5": None}, {"k5": 9}, {"k5": 4}, {"k5": 1}, {"k5": -1}, {"k5": "5"}, {"k7": 0},
    {"k6": None}, {"k6": 100}, {"k6": 0}, {"k6": -1}, {"k6": "86500"},  # no expiry, or not after issued_at
    {"k4": zlib.compress(bytes([0b00_01_00_00, 0]))},  # padded with 0 (valid) instead of 3
])
def test_the_page_refuses_a_list_whose_count_or_padding_is_wrong_like_python(server, browser_page, changes):  # noqa: F811
    _, page, _ = browser_page
    page.goto(f"{server}/scan")
    page.wait_for_function("() => window.GreenLaneVerifier !== undefined")
    payload = _payload(**changes)
    with pytest.raises(Malformed):
        decode_status_payload(payload)
    assert _statuses_in_page(page, [payload]) == ["error"]
