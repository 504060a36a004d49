"""Lever's users: who changes are made as (``perform_as``).

Facts: integrations/lever/README.md §3.2, §7.4, §8.4.
"""

from __future__ import annotations

from integrations.ats import AtsAccount, AtsRecordNotFound, AtsUser, CallProfile, Users
from integrations.lever.base import LeverBase
from integrations.lever.calls import client_for, translated
from integrations.lever.errors import LeverNotFound
from integrations.lever.schemas import User


class LeverUsers(LeverBase, Users):
    """Reads of the account's users."""

    def user_get(self, account: AtsAccount, user_id: str, *, profile: CallProfile) -> AtsUser:
        """``GET /users/:id``: Lever returns deactivated users too (``deactivatedAt`` set)."""
        client = client_for(account, profile)
        with translated(client, record=False):
            try:
                user = client.get_user(user_id)
            except LeverNotFound as exc:
                raise AtsRecordNotFound(
                    "No Lever user has this User ID.", status_code=exc.status_code
                ) from exc
        return _user(user)

    def users_find(self, account: AtsAccount, *, email: str, profile: CallProfile) -> list[AtsUser]:
        """``GET /users?email=`` (integrations/lever/README.md §7.4: exact canonical match,
        active users only)."""
        client = client_for(account, profile)
        with translated(client, record=False):
            return [_user(u) for u in client.iter_users(email=email)]


def _user(user: User) -> AtsUser:
    return AtsUser(id=user.id, name=user.name or "", email=user.email or "", active=user.is_active)
