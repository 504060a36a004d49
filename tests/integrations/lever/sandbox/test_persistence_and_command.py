"""State survives a restart on the same SQLite file; the management command runs and stops cleanly."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from integrations.lever.sandbox import DEMO_API_KEY, SandboxServer, demo_data

DATA = demo_data()
OPPORTUNITY = next(o for o in DATA.opportunities if o["archived"] is None and o["_application"])
REPO = Path(__file__).resolve().parents[4]


def test_restart_with_the_same_database_keeps_writes_keys_and_webhooks(tmp_path: Path) -> None:
    db = tmp_path / "lever.sqlite3"
    with SandboxServer(port=0, db_path=db, rate_per_second=None) as first:
        auth = (DEMO_API_KEY, "")
        requests.put(
            f"{first.api_url}/opportunities/{OPPORTUNITY['id']}/stage",
            json={"stage": "offer"},
            auth=auth,
            timeout=5,
        )
        requests.post(
            f"{first.api_url}/opportunities/{OPPORTUNITY['id']}/notes",
            json={"value": "kept"},
            auth=auth,
            timeout=5,
        )
        requests.post(
            f"{first.api_url}/webhooks",
            json={"url": "https://k.example/", "event": "candidateHired"},
            auth=auth,
            timeout=5,
        )
        key = first.create_api_key(["stages:read:admin"])

    with SandboxServer(port=0, db_path=db, rate_per_second=None) as second:
        opportunity = requests.get(
            f"{second.api_url}/opportunities/{OPPORTUNITY['id']}",
            auth=(DEMO_API_KEY, ""),
            timeout=5,
        ).json()["data"]
        notes = second.notes(OPPORTUNITY["id"])
        hooks = requests.get(
            f"{second.api_url}/webhooks", auth=(DEMO_API_KEY, ""), timeout=5
        ).json()["data"]
        stages = requests.get(f"{second.api_url}/stages", auth=(key, ""), timeout=5)

    assert opportunity["stage"] == "offer"
    assert [n["fields"][0]["value"] for n in notes] == ["kept"]
    assert [h["event"] for h in hooks] == ["candidateHired"]
    assert stages.status_code == 200


def test_reset_wipes_the_database_and_reseeds(tmp_path: Path) -> None:
    db = tmp_path / "lever.sqlite3"
    with SandboxServer(port=0, db_path=db) as first:
        first.move_stage(OPPORTUNITY["id"], "offer")

    with SandboxServer(port=0, db_path=db, reset=True) as second:
        stage = second.opportunity(OPPORTUNITY["id"])["stage"]

    assert stage == OPPORTUNITY["stage"]


def test_a_stopped_server_refuses_connections_and_stop_is_idempotent() -> None:
    server = SandboxServer(port=0).start()
    url = server.api_url

    server.stop()
    server.stop()

    with pytest.raises(requests.ConnectionError):
        requests.get(url + "/stages", timeout=2)


def _ignore_sigint() -> None:
    # What a shell does to a background job (`make test &`): SIGINT ignored, inherited by children.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.mark.live
@pytest.mark.parametrize(
    ("stop_signal", "background"),
    [(signal.SIGINT, False), (signal.SIGINT, True), (signal.SIGTERM, False)],
    ids=["SIGINT", "SIGINT-as-background-job", "SIGTERM"],
)
def test_management_command_serves_until_interrupted_or_terminated(
    tmp_path: Path, stop_signal: signal.Signals, background: bool
) -> None:
    db = tmp_path / "cmd.sqlite3"
    process = subprocess.Popen(  # noqa: S603 - our own manage.py with fixed arguments
        [sys.executable, "-u", "manage.py", "lever_sandbox", "--port", "0", "--db", str(db)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_ignore_sigint if background else None,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.search(r"on (http://127\.0\.0\.1:\d+) ", line)
        assert match is not None, line
        url = match.group(1)
        health = requests.get(url + "/_control/health", timeout=5).json()
        stages = requests.get(url + "/v1/stages", auth=(DEMO_API_KEY, ""), timeout=5)
    finally:
        process.send_signal(stop_signal)
        try:
            out, err = process.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            # Never leave a sandbox behind: kill it, then fail.
            process.kill()
            process.communicate()
            raise

    assert health["ok"] is True
    assert stages.status_code == 200
    assert DEMO_API_KEY not in line + out + err
    assert process.returncode == 0
    assert "stopped" in out
    assert db.exists()
