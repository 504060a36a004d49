"""PostgreSQL, Redis, gunicorn and Celery workers that the fault suite starts itself.

Every service runs on a free port in a temporary directory owned by the suite, so a scenario
may stop, freeze (SIGSTOP) or kill it without touching the machine's shared services
(PostgreSQL :5432, Redis :6379). ``stop`` always tears everything down.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
from pathlib import Path

from tests.live_stack import PY, ROOT, wait_for

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _as_postgres(argv: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root: run them as the postgres user then."""
    if os.getuid() != 0:
        return argv
    return ["runuser", "-u", "postgres", "--", *argv]


class Postgres:
    """A throwaway PostgreSQL cluster (trust auth, fsync off) on a free 127.0.0.1 port."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="kl-reliability-pg-"))
        self.data = self.dir / "data"
        self.port = free_port()
        self.log = self.dir / "postgres.log"
        if os.getuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(self.dir, user.pw_uid, user.pw_gid)
        subprocess.run(  # noqa: S603 - fixed argv
            _as_postgres(
                [str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust"]
            ),
            check=True,
            capture_output=True,
        )
        self.start()

    def _ctl(self, *args: str) -> None:
        subprocess.run(  # noqa: S603 - fixed argv
            _as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.data), *args]),
            check=True,
            capture_output=True,
            timeout=60,
        )

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=100"
        )
        self._ctl("-o", options, "-l", str(self.log), "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        self._ctl("-m", mode, "-w", "stop")

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError):
            self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)


class Redis:
    """A throwaway redis-server (no persistence) on a free 127.0.0.1 port. Stopping it loses
    every key, as a crashed Redis without persistence would."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="kl-reliability-redis-"))
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        log = (self.dir / "redis.log").open("ab")
        self.process = subprocess.Popen(  # noqa: S603 - fixed argv
            [
                shutil.which("redis-server") or "/usr/bin/redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.dir),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for(self.ping, 10, "redis-server")

    def ping(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(port=self.port, socket_timeout=0.5).ping())
        except redis.RedisError:
            return False

    def url(self, db: int) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def freeze(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGCONT)

    def destroy(self) -> None:
        if self.process and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGCONT)
            self.process.kill()
            self.process.wait(timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)


class Gunicorn:
    """``gunicorn karatlever.wsgi`` with ``workers`` processes on a free port."""

    def __init__(self, env: dict[str, str], log_dir: Path, *, workers: int = 2) -> None:
        self.port = free_port()
        self.log = log_dir / f"gunicorn-{self.port}.log"
        self.process = subprocess.Popen(  # noqa: S603 - fixed argv
            [
                PY,
                "-m",
                "gunicorn",
                "karatlever.wsgi",
                "-b",
                f"127.0.0.1:{self.port}",
                "-k",
                "gthread",
                "-w",
                str(workers),
                "--threads",
                "4",
                "--no-control-socket",
                "--timeout",
                "60",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for(self._up, 60, "gunicorn", every=0.2)

    def _up(self) -> bool:
        assert self.process.poll() is None, self.log.read_text()[-3000:]
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
            conn.request("GET", "/healthz")
            conn.getresponse().read()
            return True
        except OSError:
            return False

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def stack_env(
    var_dir: Path, *, database_url: str, broker_url: str, redis_url: str, lever_api_url: str
) -> dict[str, str]:
    """The environment of every process of one scenario: this suite's PostgreSQL database and
    Redis databases, the sandbox, and short claim/retry timings so recovery fits the budget."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL"}
    }
    env |= {
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": broker_url,
        "REDIS_URL": redis_url,
        "KARATLEVER_VAR_DIR": str(var_dir),
        "LEVER_API_BASE_URL": lever_api_url,
        "LEVER_READ_TIMEOUT": "1",
        "WEBHOOK_CLAIM_TIMEOUT_SECONDS": "2",
        "WEBHOOK_SWEEP_GRACE_SECONDS": "0",
        "OUTBOUND_CLAIM_TIMEOUT_SECONDS": "2",
        "OUTBOUND_UNKNOWN_OUTCOME_WAIT_SECONDS": "4",
        "OUTBOUND_RETRY_BASE_SECONDS": "0.2",
        "OUTBOUND_RETRY_MAX_SECONDS": "2",
        "OUTBOUND_MAX_ATTEMPTS": "50",
        "DJANGO_DEBUG": "1",
        "DJANGO_SETTINGS_MODULE": "karatlever.settings",
        "PYTHONUNBUFFERED": "1",
    }
    return env
