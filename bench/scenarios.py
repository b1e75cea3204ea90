"""The benchmark sections. Each returns its figures, its ceiling measured in the same run, and the ratio."""
import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import zlib
from datetime import timedelta
from pathlib import Path

import segno
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import insert

from bench import charts, console, fleet, station
from bench.camera_decode import camera_decode
from bench.handover_world import record_handovers
from bench.sqlcount import statements, statements_per_scan
from bench.world import CITY, KEYS, build_world, migrated_app, postgres_url, resident_id, sqlite_url, utcnow
from core import audit
from core.accounts import SYSTEM
from core.areas import AreaTree, read_reference_areas
from core.signing import Signer, decode_sign1, sig_structure
from passes import decisions
from passes import services as pass_services
from passes.format import PassClaims, from_qr_text, issue_qr_text
from passes.models import PassArea, PassDriver, PassStatus, VehiclePass
from passes.policy import Policy
from passes.statuslist import pack_status_bits, payload_from_bits
from passes.verifier import KeyInfo, check_pass
from whitelist import imports

ROOT = Path(__file__).resolve().parent.parent
TREE = AreaTree(read_reference_areas())


def _best_rate(fn, count: int, repeats: int = 3) -> float:
    best = 0.0
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        best = max(best, count / (time.perf_counter() - started))
    return best


def _interleaved_rounds(fns: dict, count: int, rounds: int) -> dict:
    """Each function's rate in every one of `rounds` alternating rounds (plus one warm-up round not kept), in
    items per CPU second of this process (time.process_time): on a shared machine a figure and its ceiling
    then meet the same interference, and time spent waiting for a core counts in neither. The order inside a
    round alternates too, so that neither function always runs on a cache the other one warmed."""
    names = list(fns)
    rates = {name: [] for name in names}
    for round_ in range(rounds + 1):
        for name in names if round_ % 2 else names[::-1]:
            started = time.process_time()
            fns[name]()
            if round_:
                rates[name].append(count / (time.process_time() - started))
    return rates


def _claims(i: int) -> PassClaims:
    return PassClaims(pass_id=f"{i:08X}"[-8:].replace("I", "J").replace("O", "P"), serial=100000 + i,
                      plate="粤B12345D", scope=(440304001, 440304002, 440305003), category="vegetables",
                      valid_from=1773475200, valid_until=1773475200 + 7 * 86400)


# ---- offline verification --------------------------------------------------------------------------

def offline(workdir: Path, *, quick: bool) -> dict:
    n = 300 if quick else 3000
    signer = Signer(Ed25519PrivateKey.generate())
    texts = [issue_qr_text(signer, _claims(i)) for i in range(n)]
    keys = {signer.kid: KeyInfo(signer.public_key, "active")}
    policy = Policy(parents=TREE.parents)
    at = 1773475200 + 3600

    def verify_all():
        for text in texts:
            verdict = check_pass(text, keys=keys, pass_status=lambda c: 0, site_area="440304001", policy=policy, at=at)
            assert verdict.accept, verdict.reasons

    messages = []
    for text in texts:
        msg = decode_sign1(from_qr_text(text))
        messages.append((msg.signature, sig_structure(msg.protected_bytes, msg.payload)))
    public = signer.public_key

    def raw_all():
        for signature, data in messages:
            public.verify(signature, data)

    rounds = 9
    rates = _interleaved_rounds({"verify": verify_all, "raw": raw_all}, n, rounds)
    # Each round's ratio pairs two loops measured side by side; the median round is the figure, the lowest and
    # highest rounds show the spread.
    ratios = sorted(v / r for v, r in zip(rates["verify"], rates["raw"]))
    ratio = statistics.median(ratios)
    return {"passes_per_s": round(statistics.median(rates["verify"])),
            "raw_ed25519_per_s": round(statistics.median(rates["raw"])), "ratio": round(ratio, 3),
            "ratio_min": round(ratios[0], 3), "ratio_max": round(ratios[-1], 3), "target_ratio": 0.8,
            "met": ratio >= 0.8, "passes": n, "rounds": rounds,
            "method": f"{rounds} alternating rounds of {n} passes each, the same passes in both loops; CPU time "
                      "(time.process_time); median round, min/max round ratio"}


# ---- QR size ---------------------------------------------------------------------------------------

def qr(workdir: Path, *, quick: bool) -> dict:
    signer = Signer(Ed25519PrivateKey.generate())
    typical = issue_qr_text(signer, PassClaims(pass_id="7K3M9QXA", serial=123456, plate="粤B12345D",
                                               scope=(440304001, 440304002, 440305003), category="vegetables",
                                               valid_from=1773475200, valid_until=1773475200 + 7 * 86400))
    cross = issue_qr_text(signer, PassClaims(pass_id="7K3M9QXB", serial=123456, plate="粤Z1234港",
                                             scope=(440304001, 440304002, 440305003), category="cross_border_freight",
                                             valid_from=1773475200, valid_until=1773475200 + 7 * 86400, route=(3, 17),
                                             hk_plate="FV1234"))
    dcc = []
    for line in (ROOT / "bench" / "dcc_samples.txt").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            text = line.split("\t")[-1]
            code = segno.make(text, error="M", boost_error=False)
            dcc.append((len(text), code.version))
    versions = sorted(v for _, v in dcc)

    def describe(text):
        code = segno.make(text, error="M", boost_error=False)
        return {"chars": len(text), "version": code.version, "modules": code.symbol_size(border=0)[0]}

    typical_qr = describe(typical)
    return {"typical": typical_qr, "cross_border": describe(cross), "target_version": 8,
            "met": typical_qr["version"] <= 8,
            "dcc_samples": {"count": len(dcc), "chars_median": statistics.median(c for c, _ in dcc),
                            "version_min": versions[0], "version_median": statistics.median(versions),
                            "version_max": versions[-1]}}


# ---- status list -----------------------------------------------------------------------------------

def status_list(workdir: Path, *, quick: bool) -> dict:
    size = 1_000_000
    # 1 % revoked at pseudo-random serials (a fixed LCG: deterministic, but no pattern zlib could exploit)
    entries, x = {}, 12345
    while len(entries) < size // 100:
        x = (1103515245 * x + 12345) % 2**31
        entries[x % size] = 2
    signer = Signer(Ed25519PrivateKey.generate())
    started = time.perf_counter()
    bits = pack_status_bits(entries, size)
    document = signer.sign(payload_from_bits(1, int(time.time()), bits))
    seconds = time.perf_counter() - started
    return {"serials": size, "revoked": len(entries), "build_ms": round(seconds * 1000, 1),
            "compressed_bytes": len(zlib.compress(bits, 9)), "signed_bytes": len(document),
            "uncompressed_bytes": len(bits)}


# ---- issuance ----------------------------------------------------------------------------------------

def _pending_passes(app, world, now, prefix: str, n: int) -> list[str]:
    """n pending passes inserted directly (set-up, not measured)."""
    with app.extensions["db"].sessionmaker() as s:
        ids = [f"{prefix}{i:07d}" for i in range(n)]
        s.execute(insert(VehiclePass), [dict(
            id=pid, firm_id=world.firm_id, vehicle_id=world.vehicle_ids[0], plate="粤B10000", hk_plate=None,
            category="cross_border_freight", scope=["440304001"], valid_from=now - timedelta(hours=1),
            valid_until=now + timedelta(days=3), purpose="bench", status=PassStatus.PENDING, created_at=now,
            updated_at=now) for pid in ids])
        s.execute(insert(PassDriver), [dict(pass_id=pid, person_id=world.driver_id) for pid in ids])
        s.execute(insert(PassArea), [dict(pass_id=pid, area_code="440304001") for pid in ids])
        s.commit()
    return ids


def issuance(workdir: Path, *, quick: bool) -> dict:
    """Approving n pending passes (sign, store, audit), one by one and in bulk decisions, on SQLite."""
    n = 500 if quick else 10_000
    app = migrated_app(sqlite_url(workdir, "issuance"))
    now = utcnow()
    world = build_world(app, now=now)
    maker, areas, ring = app.extensions["db"].sessionmaker, app.extensions["areas"], app.extensions["keyring"]
    ids = _pending_passes(app, world, now, "B", n + 1)
    started = time.perf_counter()
    with maker() as s:
        for i, pid in enumerate(ids[:n]):
            pass_services.approve_pass(s, pid, actor=CITY, areas=areas, ring=ring, now=now)
            if i % 500 == 0:
                s.expunge_all()
    seconds = time.perf_counter() - started
    engine = app.extensions["db"].engine
    with maker() as s, statements(engine) as per_approval:  # one more, counted apart from the timed ones
        pass_services.approve_pass(s, ids[n], actor=CITY, areas=areas, ring=ring, now=now)
    bulk_ids = _pending_passes(app, world, now, "D", n + decisions.BATCH)
    started = time.perf_counter()
    with maker() as s:
        decided = decisions.decide_passes(s, ids=bulk_ids[:n], filters=None, action=decisions.Action.APPROVE,
                                          reason=None, confirm=False, actor=CITY, areas=areas, ring=ring, now=now)
    bulk_seconds = time.perf_counter() - started
    assert sum(1 for d in decided if d.outcome is decisions.Outcome.APPROVED) == n
    with maker() as s, statements(engine) as per_batch:  # one more batch, counted apart from the timed ones
        decisions.decide_passes(s, ids=bulk_ids[n:], filters=None, action=decisions.Action.APPROVE, reason=None,
                                confirm=False, actor=CITY, areas=areas, ring=ring, now=now)
    with maker() as s:
        assert audit.verify_chain(s) is None
    app.extensions["db"].engine.dispose()
    signer = Signer(Ed25519PrivateKey.generate())
    payload = b"x" * 60
    raw = _best_rate(lambda: [signer.sign(payload) for _ in range(n)], n)
    rate, bulk_rate = n / seconds, n / bulk_seconds
    return {"approved": n, "seconds": round(seconds, 1), "approvals_per_s": round(rate), "raw_sign_per_s": round(raw),
            "ratio": round(rate / raw, 4), "target_ratio": 0.02, "met": rate / raw >= 0.02,
            "statements_per_approval": len(per_approval),  # BEGIN included
            "bulk": {"approved": n, "seconds": round(bulk_seconds, 1), "approvals_per_s": round(bulk_rate),
                     "ratio": round(bulk_rate / raw, 4), "target_ratio": 0.2, "met": bulk_rate / raw >= 0.2,
                     "batch": decisions.BATCH, "statements_per_batch": len(per_batch)},  # the request's check too
            "database": "sqlite"}


# ---- bulk import -------------------------------------------------------------------------------------

def bulk_import(workdir: Path, *, quick: bool) -> dict:
    n = 2000 if quick else 50_000
    body = ("kind,name,id_type,id_number,phone\n" + "".join(
        f"courier,工人{i},cn_resident_id,{resident_id(1000 + i)},139{i:08d}\n" for i in range(n))).encode()
    out = {"rows": n, "target_seconds": 60}
    for label, url in (("sqlite", sqlite_url(workdir, "import")), ("postgresql", postgres_url("greenlane_bench_import"))):
        if url is None:
            out[label] = "skipped: no PostgreSQL"
            continue
        app = migrated_app(url)
        world = build_world(app, now=utcnow())
        with app.extensions["db"].sessionmaker() as s:
            started = time.perf_counter()
            result = imports.import_people(s, world.firm_id, body, actor=SYSTEM, areas=app.extensions["areas"],
                                           cipher=app.extensions["pii"], now=utcnow())
            seconds = time.perf_counter() - started
        assert result.imported == n
        out[label] = {"seconds": round(seconds, 2), "rows_per_s": round(n / seconds)}
        app.extensions["db"].engine.dispose()
    out["met"] = all(isinstance(v, dict) and v["seconds"] < 60 for k, v in out.items() if k in ("sqlite", "postgresql"))
    return out


# ---- handovers -------------------------------------------------------------------------------------

def handovers(workdir: Path, *, quick: bool) -> dict:
    # 10,000 handovers (90,000 events with the bookings) really measured: the longest section of the bench.
    n = 200 if quick else 10_000
    result = record_handovers(migrated_app(sqlite_url(workdir, "handovers")), n)
    result["target_events_per_s"] = 1500
    result["met"] = result["events_per_s"] >= 1500
    return result


# ---- online scans ------------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _serve(target: str, env: dict, port: int) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "--workers", "2", "--threads", "4", "--bind",
                             f"127.0.0.1:{port}", "--log-level", "warning", target], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            _wait_until_booted(proc, deadline)
            return proc
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(proc.stderr.read().decode()[-2000:])
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("server did not start")


def _cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a gunicorn master and its workers, from /proc."""
    total = 0
    for one in [pid, *map(int, Path(f"/proc/{pid}/task/{pid}/children").read_text().split())]:
        try:
            fields = Path(f"/proc/{one}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def _server_cpu(proc: subprocess.Popen) -> float | None:
    """_cpu_seconds, or None where there is no /proc to read it from."""
    try:
        return _cpu_seconds(proc.pid)
    except OSError:
        return None


def _wait_until_booted(proc: subprocess.Popen, deadline: float) -> None:
    """The master listens before its workers have imported the app (1.5-2 s of CPU each, more when the
    machine is busy): wait until the idle server uses no CPU, so no measured round pays for the boot."""
    if not Path(f"/proc/{proc.pid}/task/{proc.pid}/children").exists():
        time.sleep(3)  # no /proc: give the workers time instead
        return
    before = _cpu_seconds(proc.pid)
    while time.time() < deadline:
        time.sleep(0.5)
        now = _cpu_seconds(proc.pid)
        if now - before < 0.02:
            return
        before = now


def _stop(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


def _load(port: int, path: str, body: bytes, headers: dict, *, seconds: float, connections: int) -> dict:
    """Closed-loop load from `connections` keep-alive clients for `seconds`; latencies of 2xx answers."""
    latencies, errors, stop = [], [0], time.perf_counter() + seconds
    lock = threading.Lock()

    def client():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        mine = []
        while time.perf_counter() < stop:
            started = time.perf_counter()
            try:
                conn.request("POST", path, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                ok = 200 <= response.status < 300
            except (OSError, http.client.HTTPException):
                ok = False
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            if ok:
                mine.append(time.perf_counter() - started)
            else:
                with lock:
                    errors[0] += 1
        with lock:
            latencies.extend(mine)
        conn.close()

    threads = [threading.Thread(target=client) for _ in range(connections)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    latencies.sort()
    pick = lambda q: round(latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000, 1) if latencies else None
    return {"requests": len(latencies), "errors": errors[0], "rps": round(len(latencies) / elapsed),
            "p50_ms": pick(0.50), "p99_ms": pick(0.99)}


def _wrk(port: int, path: str, body: bytes, headers: dict, *, seconds: float, connections: int) -> dict:
    """Closed-loop load from Debian's wrk (C, one thread, `connections` keep-alive connections): the
    generator costs the machine far less than the server it measures; p50/p99 from wrk's histogram."""
    env = {**os.environ, "BENCH_BODY": body.decode(), "BENCH_AUTH": headers.get("Authorization", "")}
    done = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{int(seconds)}s", "--timeout", "10s", "-s",
                           str(ROOT / "bench" / "wrk_post.lua"), f"http://127.0.0.1:{port}{path}"],
                          env=env, capture_output=True, text=True, timeout=seconds + 60, check=True)
    line = next(l for l in done.stdout.splitlines() if l.startswith("BENCH_JSON "))
    figures = json.loads(line.removeprefix("BENCH_JSON "))
    ok = figures["requests"] - figures["non_2xx"]
    return {"requests": ok, "errors": figures["errors"], "rps": round(ok / (figures["duration_us"] / 1e6)),
            "p50_ms": round(figures["p50_us"] / 1000, 1), "p99_ms": round(figures["p99_us"] / 1000, 1)}


def have_wrk() -> bool:
    return shutil.which("wrk") is not None


ROUNDS = 3


def _combined(rounds: list[dict]) -> dict:
    """Rounds of one server as one figure: total requests over total time; the median round's p50 and the
    worst round's p99 (pooling wrk's histograms is not possible from its summary)."""
    seconds = sum(r["requests"] / r["rps"] for r in rounds if r["rps"])
    requests = sum(r["requests"] for r in rounds)
    return {"requests": requests, "errors": sum(r["errors"] for r in rounds),
            "rps": round(requests / seconds) if seconds else 0,
            "p50_ms": statistics.median(r["p50_ms"] for r in rounds if r["p50_ms"] is not None),
            "p99_ms": max(r["p99_ms"] for r in rounds if r["p99_ms"] is not None),
            "rounds_rps": [r["rps"] for r in rounds],
            "cpu_ms_per_request": (round(1000 * sum(r["cpu_s"] for r in rounds) / requests, 3)
                                   if requests and all("cpu_s" in r for r in rounds) else None)}


def online(workdir: Path, *, quick: bool) -> dict:
    seconds, connections = (6, 8) if quick else (15, 8)  # whole seconds per round: wrk takes no fractions
    load = _wrk if have_wrk() else _load
    generator = ("wrk -t1 (C, Debian's package)" if have_wrk() else
                 "Python threads (wrk is not installed: the generator shares the CPU and is slower)")
    out = {"load": f"{connections} keep-alive connections, {ROUNDS} alternating rounds of {seconds // ROUNDS} s per "
                   f"server, from {generator}, the same for both; gunicorn 2 workers x 4 threads each",
           "target_ratio": 0.5, "target_p99_ms": 50}
    for label, url in (("sqlite", sqlite_url(workdir, "online")), ("postgresql", postgres_url("greenlane_bench_online"))):
        if url is None:
            out[label] = "skipped: no PostgreSQL"
            continue
        app = migrated_app(url)
        world = build_world(app, now=utcnow())
        with app.test_client() as client:
            trust = client.get("/api/v1/trust-list").get_data()
        statements = len(statements_per_scan(app, token=world.officer_token, qr=world.qr))
        app.extensions["db"].engine.dispose()
        trust_file = workdir / f"trust-{label}.json"
        trust_file.write_bytes(trust)
        env = {**os.environ, "DATABASE_URL": url, "BENCH_TRUST_LIST": str(trust_file), "GREENLANE_LOG_LEVEL": "WARNING",
               **{f"GREENLANE_{k}": v for k, v in KEYS.items()}}
        body = json.dumps({"qr": world.qr}).encode()
        headers = {"Content-Type": "application/json"}
        scan_headers = {**headers, "Authorization": f"Bearer {world.officer_token}"}
        servers = []
        try:
            # Ports are asked for one at a time, each just before its server binds it: two asks in a row
            # can return the same port.
            for target in ("wsgi:app", "bench.bare_app:create_bare_app()", "bench.floor_app:create_floor_app()"):
                port = _free_port()
                servers.append((_serve(target, env, port), port))
        except BaseException:
            for proc, _port in servers:
                _stop(proc)
            raise
        (real, real_port), (bare_server, bare_port), (floor_server, floor_port) = servers
        try:
            # Both servers run side by side and are loaded in alternating rounds, so that other work on the
            # machine (2 shared cores) weighs on both figures alike; only one is loaded at a time.
            # Warm-up: every worker thread's first requests (imports, statement compilation, caches) are slow.
            load(real_port, "/api/v1/scans", body, scan_headers, seconds=3, connections=connections)
            load(bare_port, "/verify", body, headers, seconds=3, connections=connections)
            load(floor_port, "/floor", body, headers, seconds=3, connections=connections)
            rounds = {"scans": [], "bare": [], "floor": []}
            # Which server goes first alternates too: work a round leaves behind (a WAL checkpoint, a
            # flush) then falls on each alike.
            for number in range(ROUNDS):
                turns = [("scans", real, real_port, "/api/v1/scans", scan_headers),
                         ("bare", bare_server, bare_port, "/verify", headers),
                         ("floor", floor_server, floor_port, "/floor", headers)]
                for name, proc, port, path, sent in (turns if number % 2 == 0 else turns[::-1]):
                    cpu = _server_cpu(proc)
                    figures = load(port, path, body, sent, seconds=seconds // ROUNDS, connections=connections)
                    # The app server's own CPU (master and workers, user + system) per answered request:
                    # what the request costs in Python and, on SQLite, in the database, whatever else the
                    # machine does. PostgreSQL's backends are other processes: their CPU is not in it.
                    if cpu is not None:
                        figures["cpu_s"] = _server_cpu(proc) - cpu
                    rounds[name].append(figures)
        finally:
            for proc in (real, bare_server, floor_server):
                _stop(proc)
        scans, bare, floor = _combined(rounds["scans"]), _combined(rounds["bare"]), _combined(rounds["floor"])
        ratio = scans["rps"] / bare["rps"] if bare["rps"] else 0
        # The floor (bench/floor_app.py): bare verify plus the scan's unavoidable statements sent straight to
        # the driver. Its ratio is the most any Python design of a durable scan could reach here.
        out[label] = {"scans": scans, "bare_verify": bare, "ratio": round(ratio, 3), "floor": floor,
                      "floor_ratio": round(floor["rps"] / bare["rps"], 3) if bare["rps"] else 0,
                      "cpu_ratio": (round(bare["cpu_ms_per_request"] / scans["cpu_ms_per_request"], 3)
                                    if scans["cpu_ms_per_request"] and bare["cpu_ms_per_request"] else None),
                      "sql_statements_per_scan": statements,
                      "met": ratio >= 0.5 and (scans["p99_ms"] or 1e9) < 50}
    return out


SECTIONS = {"offline_verification": offline, "qr": qr, "status_list": status_list, "bulk_import": bulk_import,
            "issuance": issuance, "handovers": handovers, "online_scans": online,
            "fleet_application": fleet.fleet_application, "pass_list": fleet.pass_list,
            "console_charts": charts.charts, "yard_board": station.yard_board,
            "camera_decode": camera_decode,
            "console_bulk": console.bulk_decision, "console_queue": console.queue_page}


def table(results: dict) -> str:
    s = results["sections"]
    rows = [("figure", "measured", "ceiling / target", "ratio", "met")]

    def get(*path, default="–"):
        node = s
        for key in path:
            if not isinstance(node, dict) or key not in node:
                return default
            node = node[key]
        return node

    rows.append(("offline verification (passes/s)", get("offline_verification", "passes_per_s"),
                 f"raw Ed25519 {get('offline_verification', 'raw_ed25519_per_s')}/s, target ≥ 0.8",
                 get("offline_verification", "ratio"), get("offline_verification", "met")))
    for db in ("sqlite", "postgresql"):
        scans = get("online_scans", db)
        if isinstance(scans, dict):
            rows.append((f"online scans, {db} (req/s, p50/p99 ms)",
                         f"{scans['scans']['rps']} ({scans['scans']['p50_ms']}/{scans['scans']['p99_ms']})",
                         f"bare verify {scans['bare_verify']['rps']}/s; ≥ 0.5 and p99 < 50 ms; "
                         f"{scans.get('sql_statements_per_scan', '?')} SQL statements per scan; server CPU per "
                         f"request {scans['scans'].get('cpu_ms_per_request', '?')} ms against "
                         f"{scans['bare_verify'].get('cpu_ms_per_request', '?')} ms for bare verify"
                         f"{' (app processes only)' if db == 'postgresql' else ''}", scans["ratio"],
                         scans["met"]))
            if "floor" in scans:
                rows.append((f"  floor, {db}: verify + the scan's statements straight to the driver (req/s)",
                             f"{scans['floor']['rps']} ({scans['floor']['p50_ms']}/{scans['floor']['p99_ms']})",
                             "the most any Python design reaches here (bench/floor_app.py); server CPU per "
                             f"request {scans['floor'].get('cpu_ms_per_request', '?')} ms", scans["floor_ratio"], ""))
        else:
            rows.append((f"online scans, {db}", scans, "", "", ""))
    rows.append(("issuance: approve+sign+store+audit, one by one (passes/s)", get("issuance", "approvals_per_s"),
                 f"raw signing {get('issuance', 'raw_sign_per_s')}/s, target ≥ 0.02; "
                 f"{get('issuance', 'statements_per_approval')} SQL statements per approval", get("issuance", "ratio"),
                 get("issuance", "met")))
    rows.append((f"issuance: bulk decisions of {get('issuance', 'bulk', 'approved')} (passes/s)",
                 get("issuance", "bulk", "approvals_per_s"),
                 f"raw signing, target ≥ 0.2; {get('issuance', 'bulk', 'statements_per_batch')} SQL statements "
                 f"per request of {get('issuance', 'bulk', 'batch')}", get("issuance", "bulk", "ratio"),
                 get("issuance", "bulk", "met")))
    rows.append(("QR of a typical pass (version, modules)",
                 f"v{get('qr', 'typical', 'version')}, {get('qr', 'typical', 'modules')}",
                 f"target ≤ v8; EU DCC samples v{get('qr', 'dcc_samples', 'version_min')}–"
                 f"v{get('qr', 'dcc_samples', 'version_max')} (median v{get('qr', 'dcc_samples', 'version_median')})",
                 "", get("qr", "met")))
    rows.append(("QR of a cross-border pass", f"v{get('qr', 'cross_border', 'version')}", "", "", ""))
    rows.append(("status list, 1,000,000 serials, 1 % revoked", f"{get('status_list', 'build_ms')} ms, "
                 f"{get('status_list', 'compressed_bytes')} bytes", "", "", ""))
    for db in ("sqlite", "postgresql"):
        imp = get("bulk_import", db)
        rows.append((f"bulk import of {get('bulk_import', 'rows')} people, {db}",
                     f"{imp['seconds']} s ({imp['rows_per_s']} rows/s)" if isinstance(imp, dict) else imp,
                     "target < 60 s", "", get("bulk_import", "met")))
    rows.append((f"{get('handovers', 'handovers')} handovers with {get('handovers', 'events')} events, sqlite",
                 f"{get('handovers', 'seconds_total')} s ({get('handovers', 'events_per_s')} events/s; "
                 f"{get('handovers', 'cpu_ms_per_event')} ms CPU/event, "
                 f"{get('handovers', 'statements_per_handover')} statements/handover)",
                 "target ≥ 1,500 events/s (all measured)", "", get("handovers", "met")))
    rows.append((f"fleet application of {get('fleet_application', 'passes')} passes, batch API (CSV), sqlite",
                 f"{get('fleet_application', 'seconds')} s ({get('fleet_application', 'passes_per_s')} passes/s)",
                 "", "", ""))
    rows.append((f"first page of a firm's pass list, {get('pass_list', 'passes')} passes, sqlite (p50/p99 ms)",
                 f"{get('pass_list', 'p50_ms')}/{get('pass_list', 'p99_ms')} over {get('pass_list', 'requests')}",
                 "", "", ""))
    rows.append(("the same in the portal, /portal/passes (20 rows, status counts), sqlite (p50/p99 ms)",
                 f"{get('pass_list', 'portal_p50_ms')}/{get('pass_list', 'portal_p99_ms')}", "", "", ""))
    for db in ("sqlite", "postgresql"):
        for area in ("city_48h", "district_48h"):
            rows.append((f"console chart, scans per hour over {get('console_charts', 'scans')} scans, {area}, {db} "
                         "(median/max ms)", f"{get('console_charts', db, area, 'median_ms')}/"
                         f"{get('console_charts', db, area, 'max_ms')}", "", "", ""))
    rows.append((f"yard station board, {get('yard_board', 'loads')} open loads, sqlite (p50/p99 ms)",
                 f"{get('yard_board', 'p50_ms')}/{get('yard_board', 'p99_ms')} over {get('yard_board', 'requests')}",
                 "", "", ""))
    rows.append((f"camera without BarcodeDetector: zxing, {get('camera_decode', 'frame')} frame, QR "
                 f"v{get('camera_decode', 'qr_version')} (p50/p99 ms; no code in the frame)",
                 f"{get('camera_decode', 'p50_ms')}/{get('camera_decode', 'p99_ms')}; "
                 f"{get('camera_decode', 'no_code_p50_ms')}/{get('camera_decode', 'no_code_p99_ms')}",
                 f"library {get('camera_decode', 'library_bytes')} bytes "
                 f"({get('camera_decode', 'library_gzip_bytes')} gzipped)", "", get("camera_decode", "met")))
    rows.append((f"console: bulk approval of {get('console_bulk', 'approved')} pending passes in one decision "
                 "(passes/s)", get("console_bulk", "approvals_per_s"),
                 f"raw signing {get('console_bulk', 'raw_sign_per_s')}/s", get("console_bulk", "ratio"), ""))
    rows.append((f"console: first page of a queue of {get('console_queue', 'pending')} pending passes, /console/ "
                 "(25 rows, counts per filter), sqlite (p50/p99 ms)",
                 f"{get('console_queue', 'p50_ms')}/{get('console_queue', 'p99_ms')} over "
                 f"{get('console_queue', 'requests')}", "", "", ""))
    errors = [f"{name}: {sec['error']}" for name, sec in s.items() if isinstance(sec, dict) and "error" in sec]
    widths = [max(len(str(r[i])) for r in rows) for i in range(5)]
    lines = ["| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths)) + " |" for r in rows]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join([f"Machine: {results['machine']}", *lines, *(["errors:"] + errors if errors else [])])
