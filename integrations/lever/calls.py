"""How every Lever capability calls Lever: the client for an account, the one classification
of Lever's failures into ``AtsError`` (docs/architecture.md, layer 3; Lever's status codes:
integrations/lever/README.md §5.5), and the lookup cache."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.core.cache import cache

from integrations.ats import (
    AtsAccount,
    AtsError,
    AtsKeyError,
    AtsNoResponse,
    AtsRecordForbidden,
    AtsRecordNotFound,
    AtsRequestError,
    AtsUnavailable,
    CallProfile,
)
from integrations.lever.client import LeverClient, base_url_for_region
from integrations.lever.errors import (
    LeverAuthError,
    LeverConnectionError,
    LeverError,
    LeverNotFound,
    LeverPermissionError,
    LeverRateLimited,
    LeverRedirected,
    LeverServerError,
    LeverTransientError,
)
from integrations.lever.ratelimit import rate_limiter_for, rate_limiter_share

logger = logging.getLogger(__name__)

# Bad gateway, gateway timeout: a proxy answered because Lever did not (in time). Unlike a 503
# (Lever turned the request away) or a 500 (Lever answered an error), the write may still land.
GATEWAY_GAVE_UP = frozenset({502, 504})
# A CallProfile's budget_share name -> the setting holding its fraction of the key's rate.
BUDGET_SHARE_SETTINGS = {"webhook_reads": "LEVER_WEBHOOK_READ_SHARE"}


def client_for(account: AtsAccount, profile: CallProfile) -> LeverClient:
    """The one Lever client for an account: base URL, key, perform_as, shared rate bucket."""
    limiter = rate_limiter_for(
        account.api_key,
        rate=account.rate_per_second,
        burst=account.burst,
        redis_url=settings.REDIS_URL or None,
        local_dir=settings.LEVER_RATE_LIMIT_DIR,
    )
    if profile.budget_share:
        limiter = rate_limiter_share(
            limiter,
            name=profile.budget_share,
            fraction=getattr(settings, BUDGET_SHARE_SETTINGS[profile.budget_share]),
        )
    return LeverClient(
        api_key=account.api_key,
        base_url=base_url_for_region(account.region, override=settings.LEVER_API_BASE_URL or None),
        perform_as=account.acting_user_id or None,
        rate_limiter=limiter,
        timeout=(
            min(profile.connect_timeout, settings.LEVER_CONNECT_TIMEOUT),
            min(profile.read_timeout, settings.LEVER_READ_TIMEOUT),
        ),
        max_retries=profile.max_retries,
        acquire_timeout=profile.acquire_timeout,
    )


@contextmanager
def translated(client: LeverClient, *, record: bool) -> Iterator[None]:
    """Turn LeverError into the AtsError that says whose fault it is.

    ``record``: the call is about one record (an opportunity, a webhook). There a 404 means
    that record is gone, and a 403 is about that record (a confidential candidate) unless the
    whole endpoint is refused, which one cheap list read tells apart
    (integrations/lever/README.md §5.5, §4.2: 403 is "endpoint or confidential data").
    """
    try:
        yield
    except AtsError:
        raise
    except LeverPermissionError as exc:
        if record and record_level_forbidden(client, exc):
            raise AtsRecordForbidden(
                f"Lever does not let this API key see this record ({exc}): it is probably "
                "confidential. Lever grants access to confidential data only to a new key: "
                "generate one with it turned on and paste it in Settings.",
                status_code=exc.status_code,
            ) from exc
        raise AtsKeyError(
            f"Lever refused the API key permission for this ({exc}). Add the permission to "
            "the key in Lever.",
            status_code=exc.status_code,
        ) from exc
    except LeverAuthError as exc:
        raise AtsKeyError(
            f"Lever rejected the API key ({exc}). Copy a working key into Settings.",
            status_code=exc.status_code,
        ) from exc
    except LeverNotFound as exc:
        if record:
            raise AtsRecordNotFound(
                f"Lever has no such record ({exc}); it was probably deleted.",
                status_code=exc.status_code,
            ) from exc
        raise AtsRequestError(f"Lever did not find {exc.path}.", status_code=404) from exc
    except LeverRedirected as exc:
        # Another host's answer (a 401 from a proxy or a moved API) is never Lever's verdict
        # on the key (integrations/lever/README.md §5.6).
        raise AtsUnavailable(
            f"Lever did not answer from its own host ({exc}); Karat will try again. If this "
            "goes on, check the integration's region.",
            status_code=exc.status_code,
        ) from exc
    except LeverRateLimited as exc:
        raise AtsUnavailable(
            f"Lever asked Karat to slow down ({exc}).",
            status_code=exc.status_code,
            retry_after=exc.retry_after,
        ) from exc
    except LeverTransientError as exc:
        raise AtsUnavailable(
            f"Lever did not answer usefully ({exc}); Karat will try again.",
            status_code=exc.status_code,
        ) from exc
    except LeverError as exc:
        raise AtsRequestError(
            f"Lever refused the request ({exc}).", status_code=exc.status_code
        ) from exc


def record_level_forbidden(client: LeverClient, exc: LeverPermissionError) -> bool:
    if "confidential" in (exc.message or "").lower():
        return True
    # Can the key read the endpoint at all? If the list answers, only this record is hidden.
    # (The list asks for confidential records too, the client's default.)
    try:
        next(iter(client.iter_opportunities()), None)
    except LeverPermissionError:
        return False
    except LeverError:
        return True  # unknown: don't blame the key for one record on a guess
    return True


@contextmanager
def write_translated(client: LeverClient, opportunity_id: str) -> Iterator[None]:
    """``translated`` for a write to one opportunity, with two differences.

    A write that got no answer is ``AtsNoResponse`` (it may have been applied, or be applied
    later): a timeout or dropped connection, and a 502/504, where a gateway in front of Lever
    gave up on Lever while Lever may still be working on the write. A 403 that is not about
    confidential data is told apart by reading the opportunity: readable means the key lacks
    the *write* permission (key-level), otherwise the record is hidden.
    """
    with translated(client, record=True):
        try:
            yield
        except LeverConnectionError as exc:
            raise AtsNoResponse(
                f"Lever did not answer ({exc}); Karat waits, then checks before sending it again.",
                status_code=None,
            ) from exc
        except LeverServerError as exc:
            if exc.status_code not in GATEWAY_GAVE_UP:
                raise
            raise AtsNoResponse(
                f"Lever's gateway gave up waiting for Lever ({exc}); the write may still be "
                "applied, so Karat waits, then checks before sending it again.",
                status_code=exc.status_code,
            ) from exc
        except LeverPermissionError as exc:
            if "confidential" in (exc.message or "").lower():
                raise
            try:
                client.get_opportunity(opportunity_id)
            except LeverError:
                raise exc from None  # not readable either: translated decides whose fault
            raise AtsKeyError(
                f"Lever refused the API key permission to write this ({exc}). Add the write "
                "permission (notes, opportunities) to the key in Lever.",
                status_code=exc.status_code,
            ) from exc


def cache_get(key: str) -> dict[str, dict[str, Any]] | None:
    try:
        items: dict[str, dict[str, Any]] | None = cache.get(key)
    except Exception:  # the cache only saves Lever calls; without it we just ask Lever
        logger.warning("lookup cache unavailable (%s)", key)
        return None
    return items


def cache_set(key: str, items: dict[str, dict[str, Any]], *, seconds: int | None = None) -> None:
    try:
        cache.set(key, items, seconds or settings.WEBHOOK_LOOKUP_CACHE_SECONDS)
    except Exception:  # see cache_get
        logger.warning("lookup cache unavailable (%s)", key)
