"""Lever's inbound webhook deliveries: the envelope parsed and the signature checked."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from integrations.ats import DeliveryMalformed, InboundDeliveries, InboundDelivery
from integrations.lever import signatures
from integrations.lever.base import WEBHOOK_EVENTS, LeverBase, WebhookEvent

_SUPPORTED = frozenset(spec.code for spec in WEBHOOK_EVENTS)

# Envelope field sizes: anything longer is malformed, never a database error.
EVENT_MAX = 64
TOKEN_MAX = 128
OPPORTUNITY_ID_MAX = 64
TRIGGERED_AT_MAX = 2**63 - 1


class LeverInbound(LeverBase, InboundDeliveries):
    """Lever's webhook deliveries (integrations/lever/README.md §9): the envelope and its
    signature."""

    def delivery_parse(self, body: Mapping[str, Any]) -> InboundDelivery:
        """Lever's envelope ``{event, token, triggeredAt, signature, data: {opportunityId}}``.

        Raises DeliveryMalformed naming the field. ``data: {}`` is Lever's test delivery.
        """
        if not isinstance(body, Mapping):
            raise DeliveryMalformed("the body must be a JSON object")
        event = body.get("event")
        if not isinstance(event, str) or not 0 < len(event) <= EVENT_MAX:
            raise DeliveryMalformed("event must be a non-empty string")
        token = body.get("token")
        if not isinstance(token, str) or not 0 < len(token) <= TOKEN_MAX:
            raise DeliveryMalformed("token must be a non-empty string")
        triggered_at = body.get("triggeredAt")
        if (
            isinstance(triggered_at, bool)
            or not isinstance(triggered_at, int)
            or not 0 <= triggered_at <= TRIGGERED_AT_MAX
        ):
            raise DeliveryMalformed("triggeredAt must be an integer (milliseconds)")
        # A missing signature is a 401 (verification fails); a non-string one is a broken body.
        signature = body.get("signature")
        if signature is not None and not isinstance(signature, str):
            raise DeliveryMalformed("signature must be a string")
        data = body.get("data")
        if not isinstance(data, Mapping):
            raise DeliveryMalformed("data must be an object")
        opportunity_id = data.get("opportunityId", "")
        if event == WebhookEvent.CANDIDATE_DELETED:
            # Its payload's shape is UNCONFIRMED (README.md §19.1): never refuse it for a
            # missing id (Lever would retry it for nothing); processing reads what it names.
            opportunity_id = self.deletion_subject_id(data)
        elif event in _SUPPORTED and data:
            if (
                not isinstance(opportunity_id, str)
                or not 0 < len(opportunity_id) <= OPPORTUNITY_ID_MAX
            ):
                raise DeliveryMalformed("data.opportunityId must be a non-empty string")
        elif not isinstance(opportunity_id, str) or len(opportunity_id) > OPPORTUNITY_ID_MAX:
            opportunity_id = ""
        return InboundDelivery(
            event=event,
            delivery_key=token,
            triggered_at_ms=triggered_at,
            opportunity_id=opportunity_id,
            is_test=not data,
        )

    @staticmethod
    def deletion_subject_id(data: Mapping[str, Any]) -> str:
        """The opportunity a ``candidateDeleted`` delivery names, or "" (README.md §19.1)."""
        for name in ("opportunityId", "candidateId"):
            value = data.get(name)
            if isinstance(value, str) and 0 < len(value) <= OPPORTUNITY_ID_MAX:
                return value
        return ""

    def delivery_verify(self, body: Mapping[str, Any], *, signature_tokens: Sequence[str]) -> bool:
        return signatures.verify(body, signature_tokens=list(signature_tokens))
