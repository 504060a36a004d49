"""Builds the one Lever client for an integration: base URL, decrypted key, shared rate bucket."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings

if TYPE_CHECKING:
    from integrations.lever.client import LeverClient
    from integrations.models import AtsIntegration


def lever_client_for(integration: AtsIntegration, *, api_key: str | None = None) -> LeverClient:
    """A client for this integration (or for a candidate `api_key` being validated).

    The base URL comes from the integration's region unless LEVER_API_BASE_URL points every
    integration at the local sandbox. The rate bucket is shared by every process using the key.
    """
    from integrations.lever.client import LeverClient, base_url_for_region
    from integrations.lever.ratelimit import rate_limiter_for

    key = api_key if api_key is not None else integration.api_key
    limiter = rate_limiter_for(
        key,
        rate=integration.rate_limit_per_second,
        burst=integration.rate_limit_burst,
        redis_url=settings.REDIS_URL or None,
        local_dir=settings.LEVER_RATE_LIMIT_DIR,
    )
    return LeverClient(
        api_key=key,
        base_url=base_url_for_region(
            integration.region, override=settings.LEVER_API_BASE_URL or None
        ),
        perform_as=integration.lever_user_id or None,
        rate_limiter=limiter,
        timeout=(settings.LEVER_CONNECT_TIMEOUT, settings.LEVER_READ_TIMEOUT),
    )
