"""Console pages benchmark (issue 23 §1): bytes and p50 of every page that lists rows, with
10 rows of everything and with 10,000, measured in one run.

Usage: .venv/bin/python bench/pages.py [--sizes 10 10000] [--requests 15]
       [--database-url postgres://postgres@127.0.0.1:5432/karatlever_NAME]

Without ``--database-url`` it uses a fresh SQLite database in a temporary
``KARATLEVER_VAR_DIR`` (the embedded default); with it, that PostgreSQL database (migrated,
then emptied of this bench's rows by a fresh organization each run). A local Lever sandbox
(``SandboxServer``, no rate limit) answers the automatic-invite page's reads.

Rows (``tests/page_rows.py``) in the issue's shape: for N = 10,000, 5,000 postings, 500
Karat roles, 10,000 candidacies, 100,000 webhook deliveries and 200 groups each with an
integration, in one organization (N = 10: 5, 1, 10, 100 and 1). After the small size
is measured, the rows up to the large size are added and every page measured again.

Each page: 2 warm-up GETs, then ``--requests`` timed GETs through Django's test client
(the whole request: middleware, views, templates, database). Figures: bytes of the response,
p50 in ms, and the number of SQL queries.

Targets: every page ≤ 100 kB at the large size, p50 at the large size ≤ 200 ms, the same
queries at both sizes. The p50 ratio (large ÷ small) is reported, not a target: a 10-row page
renders 10 rows where the large one renders a full page (25 to 50), so part of it is the page
filling up, not the data growing; the activity page's first and last pages show the latter.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from anywhere

MAX_BYTES = 100_000
MAX_P50_MS = 200.0


def _setup(database_url: str | None) -> None:
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("KARATLEVER_VAR_DIR", tempfile.mkdtemp(prefix="bench-pages-"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "karatlever.settings")
    # The local secrets first: settings read them when Django starts.
    subprocess.run(  # noqa: S603 - our own manage.py
        [sys.executable, str(ROOT / "manage.py"), "init_local"],
        check=True,
        capture_output=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def seed(integration: Any, start: int, n: int) -> None:
    """The issue's shape for ``n`` rows (10,000: 5,000 postings, 500 roles, 10,000
    candidacies, 100,000 deliveries, 200 integrations), at least one of each."""
    from tests.page_rows import seed_rows

    seed_rows(
        integration=integration,
        start=start,
        postings=max(n // 2, 1),
        roles=max(n // 20, 1),
        candidacies=n,
        deliveries=n * 10,
        integrations=max(n // 50, 1),
    )


def _pages(integration: Any) -> dict[str, str]:
    from django.urls import reverse

    from webhooks.models import WebhookDelivery

    rows = WebhookDelivery.objects.filter(integration=integration).order_by("received_at", "pk")
    # The row a full last page starts above (the 51st oldest), or the newest if fewer.
    second = rows[min(50, rows.count() - 1)]
    micros = int(second.received_at.timestamp() * 1_000_000)
    activity = reverse("webhooks-console:activity", args=[integration.public_id])
    return {
        "integration roles (postings)": reverse("integrations:roles", args=[integration.public_id]),
        "roles page, unmatched filter": reverse("integrations:roles", args=[integration.public_id])
        + "?unmatched=1",
        "automatic-invite settings": reverse("auto-invite:edit", args=[integration.public_id]),
        "posting search (htmx)": reverse("auto-invite:postings", args=[integration.public_id])
        + "?posting_q=engineer",
        "hiring roles list": reverse("hiring:role-list") + f"?group={integration.group.code}",
        "integrations list": reverse("integrations:list"),
        "activity, first page": activity,
        "activity, last page": f"{activity}?cursor=o{micros}.{second.pk}",
        "candidates search": reverse("hiring:candidate-list") + "?q=candidate+0000",
    }


def _measure(client: Any, url: str, requests: int) -> dict[str, Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    htmx = {"HTTP_HX_REQUEST": "true"} if "/postings/" in url else {}
    for _ in range(2):
        client.get(url, **htmx)
    times = []
    for _ in range(requests):
        start = time.perf_counter()
        response = client.get(url, **htmx)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, **htmx)
    return {
        "bytes": len(response.content),
        "p50_ms": round(statistics.median(times), 1),
        "queries": len(queries.captured_queries),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs=2, default=[10, 10_000])
    parser.add_argument("--requests", type=int, default=15)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    _setup(args.database_url)

    from django.conf import settings
    from django.test import Client

    from integrations.lever.sandbox import SandboxServer
    from integrations.lever.sandbox.demo import DEMO_API_KEY
    from integrations.models import AtsIntegration
    from karatlever.accounts.models import Group, Membership, Organization, User

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    small, large = args.sizes
    stamp = str(time.time_ns())
    organization = Organization.objects.create(name=f"Bench pages {stamp}")
    group = Group.objects.create(organization=organization, name=f"Engineering {stamp}")
    user = User.objects.create_user(email=f"bench-{stamp}@example.com", password=None)
    Membership.objects.create(user=user, organization=organization, role=Membership.Role.ADMIN)
    results: dict[str, dict[str, Any]] = {}
    with SandboxServer(port=0, rate_per_second=None) as lever:
        settings.LEVER_API_BASE_URL = lever.api_url
        integration = AtsIntegration.objects.create(
            group=group,
            api_key=DEMO_API_KEY,
            api_key_last4=DEMO_API_KEY[-4:],
            region="us",
            region_source="chosen",
        )
        client = Client()
        client.force_login(user)
        seed(integration, 0, small)
        for name, url in _pages(integration).items():
            results[name] = {"small": _measure(client, url, args.requests)}
        seed(integration, small, large - small)
        for name, url in _pages(integration).items():
            results[name]["large"] = _measure(client, url, args.requests)

    failures = []
    for name, figures in results.items():
        s, big = figures["small"], figures["large"]
        figures["p50_ratio"] = round(big["p50_ms"] / max(s["p50_ms"], 0.1), 2)
        if big["bytes"] > MAX_BYTES:
            failures.append(f"{name}: {big['bytes']} bytes at {large} rows")
        if big["p50_ms"] > MAX_P50_MS:
            failures.append(f"{name}: p50 {big['p50_ms']} ms at {large} rows")
        if big["queries"] != s["queries"]:
            failures.append(f"{name}: {s['queries']} queries, then {big['queries']}")
    print(
        json.dumps(
            {
                "bench": "pages",
                "database": "postgresql" if args.database_url else "sqlite",
                "machine": platform.platform(),
                "sizes": [small, large],
                "pages": results,
                "failures": failures,
            },
            indent=2,
        )
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
