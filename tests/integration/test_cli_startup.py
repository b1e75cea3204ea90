"""Starting the CLI outside demo mode without the secrets: one clear line and exit code 1, no traceback
(issue 13, item 9: the README's `users create` line used to die with a traceback)."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _flask(args: list[str], cwd: Path, **env) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("GREENLANE_") and k not in (
        "DATABASE_URL", "TEST_DATABASE_URL")}
    clean.update(PYTHONPATH=str(ROOT), **env)
    return subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=cwd, env=clean,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("env, named, hint", [
    ({}, "GREENLANE_DATA_KEY", "GREENLANE_DEMO=1"),
    ({"GREENLANE_DATA_KEY": "AAAA", "GREENLANE_INDEX_KEY": "AAAA"}, "GREENLANE_DATA_KEY", "32 bytes"),
    ({"GREENLANE_DATA_KEY": "A" * 43 + "=", "GREENLANE_INDEX_KEY": "B" * 43 + "="}, "GREENLANE_KEY_PASSPHRASE",
     "GREENLANE_DEMO=1"),
])
def test_a_missing_or_bad_secret_outside_demo_mode_is_one_clear_line_and_exit_code_1(tmp_path, env, named, hint):
    result = _flask(["users", "create", "--name", "Officer Li", "--role", "officer", "--site", "6"], tmp_path,
                    **env)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert named in lines[0] and hint in lines[0]
    assert result.stdout == ""
    assert not (tmp_path / "instance" / "greenlane.db").exists()  # nothing was created
