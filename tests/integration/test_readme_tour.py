"""The README tour runs as written (issue 13, item 9).

A fresh demo server is started the way `make run` starts one (migrations, `demo load`, gunicorn with
GREENLANE_DEMO=1), but in a temporary directory (its own SQLite file and instance/tour.env) and on a free
port. Then every ```sh block of the README's "A short tour" section runs, in order, in one bash with
`set -e -o pipefail`; each curl in them uses --fail-with-body, so any error answer stops the tour.
Finally the database shows that each step did what the tour says it does."""
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from bench.scenarios import _free_port
from core import audit
from core.accounts import Account
from logistics.handovers import HandoverState
from logistics.models import Handover
from checkpoints.models import AreaRisk, Scan
from passes.models import PassStatus, VehiclePass
from whitelist.models import Firm, FirmStatus, Person, Vehicle

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
TOUR_SECTION = re.compile(r"^## A short tour\n(.*?)^## ", re.S | re.M)
SH_BLOCK = re.compile(r"^```sh\n(.*?)^```", re.S | re.M)


def tour_blocks(readme: str) -> list[str]:
    section = TOUR_SECTION.search(readme)
    assert section, "README.md has no '## A short tour' section"
    return SH_BLOCK.findall(section.group(1))


def _env(workdir: Path, port: int) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("GREENLANE_") and k not in ("DATABASE_URL", "TEST_DATABASE_URL", "FLASK_APP")}
    env.update(GREENLANE_DEMO="1", GREENLANE_BIND=f"127.0.0.1:{port}", GREENLANE_WORKERS="1",
               GREENLANE_LOG_LEVEL="WARNING", PYTHONPATH=str(ROOT), HOME=str(workdir))
    return env


def _run(args: list, workdir: Path, env: dict, log: Path) -> None:
    with log.open("ab") as out:
        done = subprocess.run(args, cwd=workdir, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=60)
    assert done.returncode == 0, f"{args} failed:\n{log.read_text(errors='replace')[-3000:]}"


def _wait_until_up(server: subprocess.Popen, port: int, log: Path) -> None:
    for _ in range(150):
        if server.poll() is not None:
            raise AssertionError(f"gunicorn exited:\n{log.read_text(errors='replace')[-3000:]}")
        probe = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                                f"http://127.0.0.1:{port}/api/v1/areas/440300"], capture_output=True, text=True)
        if probe.stdout == "200":
            return
        subprocess.run(["sleep", "0.1"])
    raise AssertionError(f"gunicorn did not answer:\n{log.read_text(errors='replace')[-3000:]}")


def test_every_step_of_the_readme_tour_succeeds_against_a_fresh_demo_server(tmp_path):
    blocks = tour_blocks((ROOT / "README.md").read_text(encoding="utf-8"))
    assert len(blocks) >= 5
    (tmp_path / ".venv").symlink_to(BIN.parent)  # the tour calls .venv/bin/flask and .venv/bin/python
    port = _free_port()
    env, log = _env(tmp_path, port), tmp_path / "server.log"
    # What `make run` does, in the temporary directory (instance/ lands there).
    _run([BIN / "flask", "--app", "wsgi", "db", "upgrade"], tmp_path, env, log)
    _run([BIN / "flask", "--app", "wsgi", "demo", "load"], tmp_path, env, log)
    assert (tmp_path / "instance" / "tour.env").exists()
    server = subprocess.Popen([BIN / "gunicorn", "--config", ROOT / "gunicorn.conf.py", "wsgi:app"], cwd=tmp_path,
                              env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_until_up(server, port, log)
        script = "set -e -o pipefail\nPS4='+ tour: '\nset -x\n" + "\n".join(blocks)
        tour = subprocess.run(["bash", "-c", script], cwd=tmp_path, env={k: v for k, v in env.items()
                                                                          if k != "GREENLANE_DEMO"},
                              capture_output=True, text=True, timeout=120)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)
    assert tour.returncode == 0, (f"the tour stopped (exit {tour.returncode}):\n{tour.stdout[-4000:]}\n"
                                  f"{tour.stderr[-4000:]}")
    assert '"verdict": "accept"' in tour.stdout or '"verdict":"accept"' in tour.stdout

    engine = create_engine(f"sqlite:///{tmp_path / 'instance' / 'greenlane.db'}")
    with Session(engine) as s:
        grain = s.scalars(select(Firm).where(Firm.uscc == "92440300L00000003P")).one()
        assert grain.status is FirmStatus.APPROVED
        assert [p.name for p in s.scalars(select(Person).where(Person.firm_id == grain.id))] == ["张师傅", "陈小明"]
        van = s.scalars(select(Vehicle).where(Vehicle.firm_id == grain.id)).one()
        assert van.plate == "粤BD56789"
        vpass = s.scalars(select(VehiclePass).where(VehiclePass.vehicle_id == van.id)).one()
        assert vpass.status is PassStatus.REVOKED and vpass.reason == "vehicle sold"
        assert [scan.verdict.value for scan in s.scalars(select(Scan).where(Scan.pass_id == vpass.id))] == ["accept"]
        risk = s.scalars(select(AreaRisk).where(AreaRisk.area_code == "440304001").order_by(AreaRisk.id)).all()
        assert [r.level_label for r in risk] == ["sealed", "normal"]  # sealed, then reopened
        handover = s.scalars(select(Handover)).one()
        assert handover.state is HandoverState.SEALS_OK
        assert handover.outbound_driver_id is not None and handover.outbound_vehicle_id is not None
        luohu = s.scalars(select(Account).where(Account.name == "Luohu regulator")).one()
        assert luohu.revoked_at is not None
        assert audit.verify_chain(s) is None
    engine.dispose()
    assert "audit chain intact" in tour.stdout
