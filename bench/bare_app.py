"""The ceiling for online scans: a bare Flask endpoint that only verifies the pass signature."""
import json
import os

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from flask import Flask, request

from core.signing import VerificationError, b64url_decode, verify
from passes.format import from_qr_text


def create_bare_app() -> Flask:
    app = Flask("bare")
    with open(os.environ["BENCH_TRUST_LIST"], encoding="utf-8") as f:
        keys = {b64url_decode(k["kid"]): Ed25519PublicKey.from_public_bytes(b64url_decode(k["x"]))
                for k in json.load(f)["keys"]}

    @app.post("/verify")
    def check():
        try:
            verify(from_qr_text(request.get_json()["qr"]), keys)
            return {"verdict": "accept"}
        except VerificationError as e:
            return {"verdict": "reject", "reasons": [e.reason]}

    return app


