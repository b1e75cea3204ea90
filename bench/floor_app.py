"""The floor for online scans: the bare verify endpoint plus the database work a recorded scan cannot avoid,
sent straight to the driver (sqlite3 or psycopg, no SQLAlchemy, no authentication, no rules): the versions
read, the clone look-up, and a durable INSERT of the scan in its own transaction (on SQLite under one
writer lock per process and BEGIN IMMEDIATE, as the app; on PostgreSQL with synchronous_commit on).

It is not a design to copy: it answers how high any Python implementation of a durable scan could go on
this machine, so that the gap between it and the real endpoint is the part a leaner design could close.
"""
import json
import os
import sqlite3
import threading
from datetime import datetime, timezone

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from flask import Flask, request

from core.signing import VerificationError, b64url_decode, verify
from passes.format import from_qr_text

VERSIONS = "SELECT name, value FROM counters"
NEAREST = ("SELECT id, site_id, scanned_at FROM scans WHERE pass_id = {p} AND verdict = 'accept' AND scanned_at <= {p} "
           "ORDER BY scanned_at DESC LIMIT 1")
INSERT = ("INSERT INTO scans (account_id, site_id, pass_id, serial, scanned_at, received_at, verdict, reasons) "
          "VALUES ({p}, {p}, {p}, {p}, {p}, {p}, 'accept', {json})")


def create_floor_app() -> Flask:
    app = Flask("floor")
    with open(os.environ["BENCH_TRUST_LIST"], encoding="utf-8") as f:
        keys = {b64url_decode(k["kid"]): Ed25519PublicKey.from_public_bytes(b64url_decode(k["x"]))
                for k in json.load(f)["keys"]}
    url = os.environ["DATABASE_URL"]
    local, writer = threading.local(), threading.Lock()
    postgres = not url.startswith("sqlite")

    def connection():
        if not hasattr(local, "conn"):
            if postgres:
                import psycopg
                local.conn = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)
            else:
                local.conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None,
                                             check_same_thread=False, timeout=30)
                local.conn.execute("PRAGMA synchronous=NORMAL")
        return local.conn

    p = "%s" if postgres else "?"
    nearest, insert = NEAREST.format(p=p), INSERT.format(p=p, json="%s::json" if postgres else "?")

    @app.post("/floor")
    def scan():
        try:
            _kid, payload = verify(from_qr_text(request.get_json()["qr"]), keys)
        except VerificationError as e:
            return {"verdict": "reject", "reasons": [e.reason]}
        conn, now = connection(), datetime.now(timezone.utc)
        at = now if postgres else now.replace(tzinfo=None).isoformat(sep=" ")
        cursor = conn.cursor()
        cursor.execute(VERSIONS).fetchall()
        cursor.execute(nearest, ("bench", at)).fetchall()
        if postgres:
            with conn.transaction():
                conn.execute(insert, (1, 1, None, None, at, at, "[]"))
        else:
            with writer:
                cursor.execute("BEGIN IMMEDIATE")
                cursor.execute(insert, (1, 1, None, None, at, at, "[]"))
                cursor.execute("COMMIT")
        return {"verdict": "accept", "payload_bytes": len(payload)}

    return app
