"""Lever's Webhooks API (integrations/lever/README.md §10): list, create, repoint and delete
webhooks."""

from __future__ import annotations

from integrations.ats import AtsAccount, CallProfile, RemoteWebhook, WebhooksApi
from integrations.lever.base import LeverBase
from integrations.lever.calls import client_for, translated


class LeverWebhooksApi(LeverBase, WebhooksApi):
    """Registers this product's webhooks in Lever; the token comes only on creation."""

    def webhooks_list(self, account: AtsAccount, *, profile: CallProfile) -> list[RemoteWebhook]:
        client = client_for(account, profile)
        with translated(client, record=False):
            return [
                RemoteWebhook(id=w.id, event=w.event or "", url=w.url or "")
                for w in client.list_webhooks()
            ]

    def webhook_create(
        self, account: AtsAccount, *, url: str, event: str, profile: CallProfile
    ) -> RemoteWebhook:
        """Lever returns the signature token only in this response."""
        client = client_for(account, profile)
        with translated(client, record=False):
            created = client.create_webhook(url=url, event=event)
        return RemoteWebhook(
            id=created.id,
            event=created.event or event,
            url=created.url or url,
            signature_token=created.signature_token or "",
        )

    def webhook_update_url(
        self, account: AtsAccount, webhook_id: str, *, url: str, profile: CallProfile
    ) -> None:
        client = client_for(account, profile)
        with translated(client, record=False):
            client.update_webhook(webhook_id, url=url)

    def webhook_delete(self, account: AtsAccount, webhook_id: str, *, profile: CallProfile) -> None:
        client = client_for(account, profile)
        with translated(client, record=True):
            client.delete_webhook(webhook_id)
