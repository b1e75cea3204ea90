"""`make bench`: every figure against its own ceiling measured in the same run; writes bench/results.json.

Sections: offline verification vs raw Ed25519, issuance (approve 10,000 passes) vs raw signing, QR size
vs EU DCC samples, status list for 1,000,000 serials, bulk import of 50,000 people, 10,000 handovers
with their events, the yard station's board with 500 open loads, and online scans through gunicorn on SQLite and
PostgreSQL vs a bare verify endpoint.
Load goes to 127.0.0.1 only and every loop is bounded in time.
"""
import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

from bench import scenarios

RESULTS = Path(__file__).resolve().parent / "results.json"


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}, {platform.system()} {platform.release()}"


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    parser.add_argument("--only", nargs="*", help="run only these sections")
    args = parser.parse_args()
    sections = scenarios.SECTIONS if not args.only else {k: v for k, v in scenarios.SECTIONS.items() if k in args.only}
    results = {"machine": machine(), "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "quick": args.quick,
               "sections": {}}
    with tempfile.TemporaryDirectory(prefix="greenlane-bench-") as workdir:
        for name, run in sections.items():
            print(f"-- {name} ...", flush=True)
            load_before = os.getloadavg()[0]
            started = time.perf_counter()
            try:
                results["sections"][name] = run(Path(workdir), quick=args.quick)
            except Exception as e:  # a failed section is reported, the others still run
                results["sections"][name] = {"error": f"{type(e).__name__}: {e}"}
            results["sections"][name]["seconds"] = round(time.perf_counter() - started, 1)
            # The machine is shared: the 1-minute load average around each section says how quiet it was.
            results["sections"][name]["load_average"] = [round(load_before, 1), round(os.getloadavg()[0], 1)]
    if args.only and RESULTS.exists():  # a partial run keeps the other sections' latest figures
        previous = json.loads(RESULTS.read_text())
        results["sections"] = {**previous.get("sections", {}), **results["sections"]}
        results["machine"], results["started"] = previous.get("machine", results["machine"]), results["started"]
    RESULTS.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print()
    print(scenarios.table(results))
    print(f"\nwritten to {RESULTS.relative_to(Path.cwd()) if RESULTS.is_relative_to(Path.cwd()) else RESULTS}")
    return 1 if any("error" in s for s in results["sections"].values()) else 0


if __name__ == "__main__":
    sys.exit(main())
