"""`make test`: the whole suite on SQLite, then on PostgreSQL when one is configured or answers locally.

PostgreSQL is found, in order, from TEST_DATABASE_URL, a postgres DATABASE_URL (as CI sets it), or a
server on 127.0.0.1:5432 with database `test` and user `postgres`. Exits non-zero if any run fails.
"""
import os
import socket
import subprocess
import sys

LOCAL_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def postgres_url() -> str | None:
    for name in ("TEST_DATABASE_URL", "DATABASE_URL"):
        url = os.environ.get(name, "")
        if url.startswith("postgres"):
            return url
    try:
        socket.create_connection(("127.0.0.1", 5432), timeout=1).close()
    except OSError:
        return None
    return LOCAL_PG


def run(label: str, env: dict) -> int:
    print(f"\n=== tests on {label} ===", flush=True)
    return subprocess.call([sys.executable, "-m", "pytest", *sys.argv[1:]], env=env)


def main() -> int:
    base = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "TEST_DATABASE_URL")}
    status = run("SQLite", base)
    url = postgres_url()
    if url:
        status |= run("PostgreSQL", {**base, "TEST_DATABASE_URL": url})
    else:
        print("\nPostgreSQL not configured and nothing answers on 127.0.0.1:5432: skipped that run")
    return status


if __name__ == "__main__":
    sys.exit(main())
