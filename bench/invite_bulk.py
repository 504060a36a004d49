"""Bulk invite: 200 Lever URLs invited in one go against the sandbox at the default per-key rate.

Usage: .venv/bin/python bench/invite_bulk.py [--urls 200]

In-process: a fresh SQLite database in a temporary KARATLEVER_VAR_DIR (migrated here), one group
with a Lever integration (the sandbox's demo key, the default client rate: Lever's 10 requests/s,
burst 20, adaptive) and one Karat role per published demo posting, then ``invite_urls``
(integrations/invites/services/create.py) — the service behind ``POST /api/v1/invitations/``
and the background batches: for each URL one
``GET /opportunities/:id?expand=applications&expand=stage``, postings and archive reasons
from the per-integration cache (filled once), candidacy + link + timeline + the queued email
row (the worker sends it later).
The sandbox enforces Lever's own limit (10/s, burst 20) and answers 429 past it.

Figures (one run):
* **requests per URL** = sandbox requests ÷ URLs (cold cache: the postings and archive
  reasons are read once during the run and counted).
* **wall ÷ ideal** = wall time ÷ (requests ÷ configured rate): 1.0 is exactly the key's rate;
  the initial burst allowance can put it below 1.
* **429s** from the sandbox.

Prints one JSON document; exit code 0 when every target is met.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from anywhere

TARGETS = {"requests_per_url": 1.05, "wall_over_ideal": 1.15, "too_many_requests": 0}


def configure(var_dir: Path, api_url: str) -> None:
    from cryptography.fernet import Fernet

    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "karatlever.settings",
            "DJANGO_DEBUG": "0",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "KARATLEVER_VAR_DIR": str(var_dir),
            "LEVER_API_BASE_URL": api_url,
            "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
            "LOG_LEVEL": "WARNING",
        }
    )
    for name in ("DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL"):
        os.environ.pop(name, None)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--urls", type=int, default=200)
    args = parser.parse_args()

    from integrations.lever.sandbox import DEMO_API_KEY, SandboxServer
    from integrations.lever.sandbox.demo import demo_data

    data = demo_data()
    if args.urls > len(data.opportunities):
        parser.error(f"the sandbox has {len(data.opportunities)} opportunities")
    var_dir = Path(tempfile.mkdtemp(prefix="karatlever-invite-bench-"))
    # Lever's own limit (the sandbox's default): a client faster than it gets 429s.
    with SandboxServer(port=0, rate_per_second=10.0) as lever:
        configure(var_dir, lever.api_url)
        from integrations.invites.services.create import invite_urls
        from integrations.models import AtsIntegration, InvitationEmail
        from karatlever.accounts.models import Group, Organization
        from karatlever.hiring.models import Role

        organization = Organization.objects.create(name="Bench")
        group = Group.objects.create(organization=organization, name="Engineering")
        integration = AtsIntegration.objects.create(
            group=group, region="us", api_key=DEMO_API_KEY, api_key_last4=DEMO_API_KEY[-4:]
        )
        for posting in data.postings:
            if posting["state"] == "published":
                Role.objects.get_or_create(group=group, title=posting["text"])
        urls = [
            f"https://hire.lever.co/candidates/{o['id']}" for o in data.opportunities[: args.urls]
        ]
        lever.reset_counters()
        before = Counter(lever.request_stats())

        started = time.monotonic()
        outcomes = invite_urls(group=group, urls=urls, role=None, actor=None)
        wall = time.monotonic() - started

        stats = Counter(lever.request_stats())
        stats.subtract(before)
        requests = sum(stats.values())
        rate = integration.rate_limit_per_second
        report: dict[str, Any] = {
            "urls": len(urls),
            "configured_rate": rate,
            "burst": integration.rate_limit_burst,
            "lever_requests": requests,
            "requests_per_url": round(requests / len(urls), 3),
            "wall_seconds": round(wall, 2),
            "ideal_seconds": round(requests / rate, 2),
            "wall_over_ideal": round(wall / (requests / rate), 3),
            "too_many_requests": stats.get("429", 0),
            "responses": {k: v for k, v in stats.items() if v},
            "outcomes": dict(Counter(o.code for o in outcomes)),
            # Sent by the worker after commit (invites/services/emails.py), not timed here.
            "emails_queued": InvitationEmail.objects.count(),
        }
    report["targets_met"] = (
        report["requests_per_url"] <= TARGETS["requests_per_url"]
        and report["wall_over_ideal"] <= TARGETS["wall_over_ideal"]
        and report["too_many_requests"] == TARGETS["too_many_requests"]
    )
    print(json.dumps(report, indent=2))
    return 0 if report["targets_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
