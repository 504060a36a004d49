"""bin/run-local: the supervisor behind `make run` stops everything together, and nothing leaks."""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import closing
from pathlib import Path

import pytest

from integrations.lever.sandbox.demo import DEMO_API_KEY, demo_opportunity_ids

ROOT = Path(__file__).resolve().parent.parent
RUN_LOCAL = ROOT / "bin" / "run-local"
PY = sys.executable
# What `make run` starts: web, one Celery worker per queue, beat and the sandbox.
PROCESSES = ("web", "urgent", "outbound", "background", "beat", "sandbox")


def _start(*commands: str, grace: float = 5.0) -> subprocess.Popen[str]:
    argv = [PY, str(RUN_LOCAL), "--stop-grace", str(grace)]
    for command in commands:
        argv += ["--command", command]
    return subprocess.Popen(  # noqa: S603 - fixed argv
        argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def _read_until(process: subprocess.Popen[str], needle: str, timeout: float = 10) -> list[str]:
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if needle in line:
            return lines
    raise AssertionError(f"{needle!r} not seen in output: {''.join(lines)}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); only a reaped or running process matters here.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except FileNotFoundError:
        return False


def _pid_from(lines: list[str], name: str) -> int:
    for line in lines:
        if line.startswith(name) and "started (pid " in line:
            return int(line.split("started (pid ", 1)[1].split(")", 1)[0])
    raise AssertionError(f"no pid for {name}")


def test_when_one_process_dies_the_others_are_stopped_and_the_exit_is_non_zero() -> None:
    process = _start(
        "sleeper=sleep 60",
        f"crasher={PY} -c 'import time, sys; print(\"boom\", flush=True); time.sleep(1); sys.exit(3)'",
    )

    output, _ = process.communicate(timeout=20)

    assert process.returncode == 3
    assert "crasher   | boom" in output
    assert "crasher exited with code 3; stopping the others" in output
    sleeper_pid = _pid_from(output.splitlines(), "sleeper")
    assert not _alive(sleeper_pid)


def test_a_process_exiting_cleanly_still_stops_the_run_with_a_failure() -> None:
    process = _start("sleeper=sleep 60", "quitter=true")

    process.communicate(timeout=20)

    assert process.returncode == 1


def test_sigint_stops_every_process_and_their_children() -> None:
    # The shell starts a grandchild that would be orphaned if only the shell were signalled.
    process = _start(
        "one=sleep 60",
        "two=sh -c 'sleep 61 & echo grandchild $!; wait'",
    )
    # Output lines look like "two       | grandchild 1234"; the "started" lines come first, in order.
    lines = _read_until(process, "| grandchild ")
    grandchild = int(lines[-1].split()[-1])
    one_pid = _pid_from(lines, "one")
    assert _alive(grandchild)

    started = time.monotonic()
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=20)

    assert process.returncode == 0
    assert "got SIGINT; stopping all" in output
    assert time.monotonic() - started < 10
    assert not _alive(one_pid)
    assert not _alive(grandchild)


def test_a_process_ignoring_sigterm_is_killed_after_the_grace_period() -> None:
    process = _start(
        f"stubborn={PY} -c 'import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        'print("ready", flush=True); time.sleep(60)\'',
        grace=1.0,
    )
    lines = _read_until(process, "| ready")
    stubborn = _pid_from(lines, "stubborn")

    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=20)

    assert "stubborn did not stop in 1s; killing it" in output
    assert not _alive(stubborn)


@pytest.mark.parametrize("signame", ["SIGINT", "SIGTERM"])
def test_both_stop_signals_are_forwarded(signame: str) -> None:
    process = _start(f"waiter={PY} -c 'import time; print(\"up\", flush=True); time.sleep(60)'")
    lines = _read_until(process, "| up")

    process.send_signal(getattr(signal, signame))
    output, _ = process.communicate(timeout=20)

    assert process.returncode == 0
    assert f"got {signame}; stopping all" in output
    assert "waiter    | stopped (exit -15)" in output
    assert not _alive(_pid_from(lines, "waiter"))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(url: str, api_key: str | None = None) -> tuple[int, bytes]:
    """GET ``url`` (with the sandbox's Basic auth when ``api_key``); a 429 is waited out as a
    client must (its Retry-After, 3 times at most): the stack's own workers share the demo
    key's budget, 10/s with a burst of 20 as Lever's."""
    request = urllib.request.Request(url)  # noqa: S310 - 127.0.0.1 only
    if api_key:
        token = base64.b64encode(f"{api_key}:".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    for _ in range(3):
        try:
            with urllib.request.urlopen(request, timeout=2) as response:  # noqa: S310
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            if exc.code != 429:
                return exc.code, exc.read()
            time.sleep(min(float(exc.headers.get("Retry-After") or 1), 5))
    return 429, b""


def _poll_demo_state(database: Path, opportunity_id: str, timeout: float = 30) -> tuple[str, str]:
    """The linked candidacy's Lever stage and the integration's key status, once both settle."""
    deadline = time.monotonic() + timeout
    stage = key_status = ""
    while time.monotonic() < deadline:
        with closing(sqlite3.connect(database, timeout=5)) as db:
            stage = db.execute(
                "SELECT c.ats_stage_id FROM hiring_candidacy c JOIN integrations_opportunitylink l"
                " ON l.candidacy_id = c.id WHERE l.opportunity_id = ?",
                [opportunity_id],
            ).fetchone()[0]
            key_status = db.execute(
                "SELECT key_status FROM integrations_atsintegration"
            ).fetchone()[0]
        if stage == "offer" and key_status == "valid":
            break
        time.sleep(0.5)
    return stage, key_status


@pytest.mark.live
def test_the_make_run_stack_serves_the_demo_end_to_end_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    # The embedded default in a private var/ dir: never touch a configured database or broker.
    # Nor the test session's secrets: init_local must make them in that var/.
    dropped = {"DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL", "LEVER_API_BASE_URL"}
    dropped |= {"LEVER_SANDBOX_SITE_URL"}
    dropped |= {"DJANGO_SECRET_KEY", "FIELD_ENCRYPTION_KEYS"}
    env = {name: value for name, value in os.environ.items() if name not in dropped}
    env["KARATLEVER_VAR_DIR"] = str(tmp_path / "var")
    web_port, sandbox_port = _free_port(), _free_port()
    process = subprocess.Popen(  # noqa: S603 - fixed argv
        [PY, str(RUN_LOCAL), "--web-port", str(web_port), "--sandbox-port", str(sandbox_port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        lines = _read_until(process, "ready: open", timeout=120)
        output = "".join(lines)

        readyz = _get(f"http://127.0.0.1:{web_port}/readyz")
        sandbox = _get(f"http://127.0.0.1:{sandbox_port}/v1/postings")
        linked = demo_opportunity_ids(8)[-1]
        opportunity = _get(
            f"http://127.0.0.1:{sandbox_port}/v1/opportunities/{linked}", api_key=DEMO_API_KEY
        )
        login = _get(f"http://127.0.0.1:{web_port}/accounts/login/")

        # A recruiter moves the candidate in Lever: the webhook reaches the web, the worker
        # processes it, the Karat candidacy shows the new stage; the worker also checked the key.
        moved = urllib.request.Request(
            f"http://127.0.0.1:{sandbox_port}/_control/opportunities/{linked}/stage",
            data=b'{"stage": "offer"}',
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        urllib.request.urlopen(moved, timeout=5).close()  # noqa: S310 - 127.0.0.1 only
        stage, key_status = _poll_demo_state(tmp_path / "var" / "karatlever.sqlite3", linked)
    finally:
        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=30)

    assert "admin@acme.test / karat-demo-admin" in output
    for secret in ("django-secret-key", "field-encryption-keys"):
        assert f"created {tmp_path / 'var' / secret}" in output
    assert "Demo webhooks → http://127.0.0.1:" in output
    for name in PROCESSES:
        assert f"{name:<10}| started (pid" in output
    assert readyz == (200, b'{"database": {"ok": true}, "broker": {"ok": true}}')
    # The sandbox answers like Lever: no key, no data.
    assert sandbox[0] == 401
    # The seeded candidacies point at opportunities the running sandbox really serves.
    assert opportunity[0] == 200
    assert json.loads(opportunity[1])["data"]["id"] == linked
    assert login[0] == 200
    assert stage == "offer"
    assert key_status == "valid"
    assert process.returncode == 0
    for name in PROCESSES:
        pid = _pid_from(lines, name)
        assert not _alive(pid), name
    assert "got SIGINT; stopping all" in rest
    # Progress is announced, and kombu's warning about the host-less file broker URL is gone.
    for step in ("step 1/4", "step 2/4", "step 3/4", "step 4/4"):
        assert f"setup     | {step}: " in output
    assert "No hostname was supplied" not in output + rest
