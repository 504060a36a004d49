"""REST API tokens: made, listed and revoked by their owner (django-rest-knox underneath).

A token is a random string shown once, when it is made; the database keeps its SHA-512 digest
and its first characters (``ApiToken.token_key``, the "prefix"). Tokens expire after
``TOKEN_DAYS_DEFAULT`` days unless made with another lifetime (1 to ``TOKEN_DAYS_MAX``).
"""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone
from knox.models import get_digest_token
from knox.settings import CONSTANTS

from karatlever.accounts.models import ApiToken, User
from karatlever.errors import ApplicationError

TOKEN_DAYS_DEFAULT = 90
TOKEN_DAYS_MAX = 365
# Live tokens one user may hold: enough for a few scripts, few enough to be reviewed.
TOKENS_PER_USER_MAX = 20


class TooManyTokens(ApplicationError):
    status_code = 409
    default_code = "too_many_tokens"


def api_token_list(*, user: User) -> QuerySet[ApiToken]:
    """The user's tokens that still work, newest first."""
    now = timezone.now()
    return ApiToken.objects.filter(user=user).filter(Q(expiry__isnull=True) | Q(expiry__gt=now))


@transaction.atomic
def api_token_create(
    *, user: User, name: str = "", days: int = TOKEN_DAYS_DEFAULT
) -> tuple[ApiToken, str]:
    """Make a token for ``user``; returns the row and the token, which is never stored."""
    if not 1 <= days <= TOKEN_DAYS_MAX:
        raise ApplicationError(
            f"A token lives between 1 and {TOKEN_DAYS_MAX} days.", field="expires_in_days"
        )
    # Lock the user's row so two concurrent requests can't both pass the limit.
    User.objects.select_for_update().filter(pk=user.pk).first()
    ApiToken.objects.filter(user=user, expiry__lte=timezone.now()).delete()
    if api_token_list(user=user).count() >= TOKENS_PER_USER_MAX:
        raise TooManyTokens(
            f"You already have {TOKENS_PER_USER_MAX} tokens; revoke one you no longer use."
        )
    # knox's token: REST_KNOX's TOKEN_PREFIX and random hex; its SHA-512 digest is what
    # knox.auth.TokenAuthentication compares.
    digest, token = get_digest_token()
    row = ApiToken.objects.create(
        user=user,
        name=name,
        digest=digest,
        token_key=token[: CONSTANTS.TOKEN_KEY_LENGTH],
        expiry=timezone.now() + timedelta(days=days),
    )
    return row, token


def api_token_revoke(*, user: User, code: UUID) -> None:
    """Delete one of the user's tokens; another user's (or an unknown) token is a 404."""
    deleted, _ = ApiToken.objects.filter(user=user, code=code).delete()
    if not deleted:
        raise Http404("No such token.")


def api_token_revoke_all(*, user: User) -> int:
    """Delete every token of the user (sign out everywhere); returns how many there were."""
    deleted, _ = ApiToken.objects.filter(user=user).delete()
    return deleted
