"""Posting sync benchmark: sync 1,000 then 10,000 postings from the Lever sandbox.

Usage: .venv/bin/python bench/postings_sync.py [--sizes 1000 10000] [--rate 8]

The sandbox runs as its own process (``manage.py lever_sandbox``, Lever's limit of 10/s, burst
20 per key), so this process's memory is the sync's alone. This process uses a fresh SQLite
database in a temporary ``KARATLEVER_VAR_DIR`` and runs ``postings_sync_run`` (the task body)
directly. For each size: the sandbox is reset and filled to exactly N postings (all six
states, every 10th confidential), the database emptied, then one full sync is timed with
``tracemalloc`` on and every SQL query counted.

The integration's limiter runs at ``--rate`` requests/s (burst 10, the default). Its bucket is
emptied just before each timed sync, so both sizes run at the key's steady rate (otherwise the
first ten pages would be free and the smaller sync would look faster per posting than it is).
A 100-posting warm-up sync runs first (imports, first-use caches), untimed.

Targets: time per posting at 10,000 within 1.5x the time at 1,000; wall time within 1.5x of
the rate limit's floor (pages ÷ rate); peak traced memory at 10,000 less than 30 MB
above the peak at 1,000; the same number of queries for every page (the per-page figure is
(queries(10k) - queries(1k)) ÷ (pages(10k) - pages(1k)), checked against one page's store).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
BURST = 10
sys.path.insert(0, str(ROOT))  # run from anywhere


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_sandbox(var_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    # The bench's own settings (secret key, field keys, var dir), so a fresh checkout needs no
    # prior `manage.py init_local`: the sandbox process loads the same Django settings.
    env = {**os.environ, **bench_environ(var_dir), "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(  # noqa: S603 - our own manage.py
        [
            sys.executable,
            str(ROOT / "manage.py"),
            "lever_sandbox",
            "--port",
            str(port),
            "--db",
            str(var_dir / "lever-sandbox.sqlite3"),
            "--reset",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(var_dir / "lever-sandbox.log").open("wb"),
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/_control/health", timeout=1).ok:
                return process, url
        except requests.RequestException:
            time.sleep(0.2)
    process.kill()
    log = (var_dir / "lever-sandbox.log").read_text(errors="replace")[-2000:]
    raise SystemExit(f"the Lever sandbox did not start:\n{log}")


_ENVIRON: dict[str, str] = {}


def bench_environ(var_dir: Path) -> dict[str, str]:
    """Settings for this run only (one secret key and field key per run, a temporary var dir)."""
    from cryptography.fernet import Fernet

    if not _ENVIRON:
        _ENVIRON.update(
            {
                "DJANGO_SETTINGS_MODULE": "karatlever.settings",
                "DJANGO_DEBUG": "1",
                "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
                "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
                "KARATLEVER_VAR_DIR": str(var_dir),
                "LOG_LEVEL": "WARNING",
            }
        )
    return _ENVIRON


def django_setup(var_dir: Path, sandbox_url: str) -> None:
    os.environ |= {**bench_environ(var_dir), "LEVER_API_BASE_URL": sandbox_url + "/v1"}
    for name in ("DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL"):
        os.environ.pop(name, None)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def integration_create(rate: float) -> Any:
    from integrations.lever.sandbox import DEMO_API_KEY
    from integrations.models import AtsIntegration, Region
    from karatlever.accounts.models import Group, Organization

    organization = Organization.objects.create(name="Bench Corp")
    group = Group.objects.create(organization=organization, name="Bench")
    integration = AtsIntegration(
        group=group,
        region=Region.SANDBOX,
        rate_limit_per_second=rate,
        rate_limit_burst=BURST,
        key_status=AtsIntegration.KeyStatus.VALID,
    )
    integration.api_key = DEMO_API_KEY
    integration.api_key_last4 = DEMO_API_KEY[-4:]
    integration.save()
    return integration


def sandbox_fill(url: str, size: int) -> None:
    requests.post(f"{url}/_control/reset", timeout=30).raise_for_status()
    requests.delete(f"{url}/_control/requests", timeout=5).raise_for_status()
    seeded = 30  # the demo postings every reset seeds
    if size > seeded:
        requests.post(
            f"{url}/_control/postings",
            json={"count": size - seeded, "confidential_every": 10, "title": "Bench Engineer"},
            timeout=120,
        ).raise_for_status()


def run_size(url: str, integration: Any, size: int, rate: float) -> dict[str, Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from integrations.models import AtsPosting, PostingSyncRun
    from integrations.roles.services import sync

    sandbox_fill(url, size)
    AtsPosting.objects.all().delete()
    PostingSyncRun.objects.all().delete()
    run = sync.postings_sync_request(integration=integration, kind=PostingSyncRun.Kind.FULL)
    _bucket_empty(integration, rate)

    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    started = time.perf_counter()
    with CaptureQueriesContext(connection) as queries:
        status = sync.postings_sync_run(run_id=run.pk)
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()

    run.refresh_from_db()
    stats = requests.get(f"{url}/_control/requests", timeout=5).json()
    stored = AtsPosting.objects.filter(integration=integration, removed_at__isnull=True).count()
    floor = run.pages_done / rate
    page_queries = _one_page_queries(queries.captured_queries)
    return {
        "postings": size,
        "status": status,
        "stored": stored,
        "pages": run.pages_done,
        "seconds": round(seconds, 2),
        "ms_per_posting": round(seconds * 1000 / size, 3),
        "rate_floor_seconds": round(floor, 2),
        "seconds_over_floor": round(seconds / floor, 3) if floor else None,
        "peak_traced_mb": round(peak / 2**20, 2),
        "queries": len(queries.captured_queries),
        "queries_one_page_store": page_queries,
        "responses_429": stats.get("429", 0),
    }


def _bucket_empty(integration: Any, rate: float) -> None:
    """Take the key's saved-up burst, so the timed sync starts at the steady rate."""
    from django.conf import settings

    from integrations.lever.ratelimit import rate_limiter_for

    limiter = rate_limiter_for(
        integration.api_key,
        rate=rate,
        burst=BURST,
        redis_url=None,
        local_dir=settings.LEVER_RATE_LIMIT_DIR,
    )
    for _ in range(BURST):
        limiter.acquire(timeout=30)


def _one_page_queries(captured: list[dict[str, Any]]) -> int:
    """Queries between two updates of the run row's cursor = one page's store."""
    marks = [i for i, q in enumerate(captured) if '"cursor"' in q["sql"] and "UPDATE" in q["sql"]]
    return marks[1] - marks[0] if len(marks) > 1 else -1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs=2, default=[1000, 10000])
    parser.add_argument("--rate", type=float, default=8.0, help="the key's requests per second")
    args = parser.parse_args()
    small_size, big_size = args.sizes

    with tempfile.TemporaryDirectory() as tmp:
        var_dir = Path(tmp)
        sandbox, url = start_sandbox(var_dir)
        try:
            django_setup(var_dir, url)
            integration = integration_create(args.rate)
            run_size(url, integration, 100, args.rate)  # warm-up, not reported
            small = run_size(url, integration, small_size, args.rate)
            big = run_size(url, integration, big_size, args.rate)
        finally:
            sandbox.terminate()
            sandbox.wait(10)

    per_page = (big["queries"] - small["queries"]) / max(big["pages"] - small["pages"], 1)
    results = {
        "date": time.strftime("%Y-%m-%d", time.gmtime()),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        "rate": args.rate,
        "small": small,
        "big": big,
        "time_per_posting_ratio": round(big["ms_per_posting"] / small["ms_per_posting"], 3),
        "peak_memory_growth_mb": round(big["peak_traced_mb"] - small["peak_traced_mb"], 2),
        "queries_per_extra_page": round(per_page, 2),
    }
    targets = {
        "all stored": small["stored"] == small_size and big["stored"] == big_size,
        "time per posting roughly constant (≤ 1.5x)": results["time_per_posting_ratio"] <= 1.5,
        "bounded by the rate limit (≤ 1.5x floor)": (big["seconds_over_floor"] or 0) <= 1.5,
        "peak memory growth < 30 MB": results["peak_memory_growth_mb"] < 30,
        "queries per page constant": per_page
        == big["queries_one_page_store"]
        == small["queries_one_page_store"],
        "no 429": small["responses_429"] == big["responses_429"] == 0,
    }
    results["targets"] = targets
    print(json.dumps(results, indent=2))
    return 0 if all(targets.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
