"""Interoperability: a real issued pass, the status list and the policy bundle verify with pycose, a COSE
implementation the product does not use (issue 13, item 15). pycose decodes only the tagged COSE_Sign1, so
tag 18 (the byte d2) is prepended to GreenLane's untagged form, as docs/pass-format.md section 13 says.

pycose 1.1.0's `Sign1Message.decode` expects the tag's content as a list, but cbor2 6 (our pin) decodes
a tag's content as a tuple (and its maps as frozen maps); so the tagged bytes are decoded with cbor2 and
the array handed to pycose's `from_cose_obj`. Header parsing, the Sig_structure and the EdDSA check are all pycose's."""
import base45
import cbor2
import pytest
from pycose.headers import KID
from pycose.keys import OKPKey
from pycose.keys.curves import Ed25519
from pycose.messages import Sign1Message

from tests.api.helpers import API
from tests.api.pass_helpers import b64u, build_world, issued, trust_list

COSE_SIGN1_TAG = b"\xd2"  # CBOR tag 18


def _pycose_verifies(cose: bytes, keys: dict[bytes, bytes]) -> bool:
    """Only pycose here: decode the tagged message, pick the key by its kid, check the signature."""
    tagged = cbor2.loads(COSE_SIGN1_TAG + cose)
    assert isinstance(tagged, cbor2.CBORTag) and tagged.tag == 18
    protected, unprotected, payload, signature = tagged.value  # cbor2 6: a tuple and a frozen map
    message = Sign1Message.from_cose_obj([protected, dict(unprotected), payload, signature],
                                         allow_unknown_attributes=False)
    message.key = OKPKey(crv=Ed25519, x=keys[message.phdr[KID]])
    return message.verify_signature()


def _flipped(cose: bytes, at: int) -> bytes:
    return cose[:at] + bytes([cose[at] ^ 0x01]) + cose[at + 1:]


@pytest.fixture
def documents(client, session, areas, cipher, now):
    world = build_world(session, areas, cipher, now)
    vpass = issued(client, world)
    keys = {b64u(k["kid"]): b64u(k["x"]) for k in trust_list(client) if k["status"] != "revoked"}
    status_list = client.get(f"{API}/status-list")
    bundle = client.get(f"{API}/policy-bundle")
    assert status_list.status_code == bundle.status_code == 200
    cose = base45.b45decode(vpass["qr"].removeprefix("GL1:"))
    return keys, {"pass": cose, "status list": status_list.data, "policy bundle": bundle.data}


def test_pycose_verifies_a_real_pass_the_status_list_and_the_policy_bundle(documents):
    keys, docs = documents
    assert docs["pass"][0] == 0x84  # emitted untagged: an array of 4
    for name, cose in docs.items():
        assert _pycose_verifies(cose, keys), name


@pytest.mark.parametrize("where", ["payload", "signature"])
def test_pycose_rejects_each_document_with_one_flipped_byte(documents, where):
    keys, docs = documents
    for name, cose in docs.items():
        at = len(cose) - 10 if where == "signature" else len(cose) - 64 - 5  # the last payload bytes
        tampered = _flipped(cose, at)
        try:
            accepted = _pycose_verifies(tampered, keys)
        except Exception:  # noqa: BLE001 -- pycose raises on some tampering, returns False on the rest
            accepted = False
        assert not accepted, f"{name} with a flipped {where} byte was accepted"


def test_without_the_tag_pycose_cannot_even_decode_greenlane_documents(documents):
    _, docs = documents
    with pytest.raises(Exception):  # noqa: B017 -- documents the need for the tag, whatever pycose raises
        Sign1Message.decode(docs["pass"])
