"""The durable webhook inbox: one row per verified delivery, plus per-hour rejection counters."""

from __future__ import annotations

from django.db import models


class WebhookDelivery(models.Model):
    """One verified ATS delivery, stored before anything else happens.

    The unique key (integration, token) makes a repeated or replayed delivery a no-op. After
    the retention period the payload is cleared but the row (the dedupe key) stays a while
    longer.
    """

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        PROCESSING = "processing", "Processing"
        RETRY = "retry", "Waiting to retry"
        PROCESSED = "processed", "Processed"
        IGNORED = "ignored", "Ignored"
        FAILED = "failed", "Failed"
        DEAD = "dead", "Gave up"

    # States a worker may claim; everything else is either running or finished.
    CLAIMABLE = (Status.RECEIVED, Status.RETRY)
    FINISHED = (Status.PROCESSED, Status.IGNORED, Status.FAILED, Status.DEAD)

    integration = models.ForeignKey(
        "integrations.AtsIntegration",
        on_delete=models.CASCADE,
        related_name="webhook_deliveries",
        db_index=False,
    )
    event = models.CharField(max_length=64)
    # Lever's random per-delivery string (part of the signed message), not a secret token.
    token = models.CharField(max_length=128)
    opportunity_id = models.CharField(max_length=64, blank=True)
    triggered_at_ms = models.BigIntegerField()
    # The body as received; cleared by the prune task after the retention period.
    payload = models.JSONField(null=True, blank=True)
    # Database defaults as well as Python ones: the receiver's hot insert names only the
    # columns that vary (webhooks/services/intake.py).
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.RECEIVED, db_default=Status.RECEIVED
    )
    # Why it ended the way it did ("no linked Karat candidacy", "2 changes", …).
    outcome = models.CharField(max_length=300, blank=True, default="", db_default="")
    error = models.TextField(blank=True, default="", db_default="")
    attempts = models.PositiveIntegerField(default=0, db_default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    payload_pruned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        constraints = [
            # Lever's token is new for every delivery, and only it and triggeredAt are signed
            # (integrations/lever/README.md §9.2, §9.4, §9.5): a captured delivery re-sent with
            # other `data` (another event or opportunity) is the same delivery, so the token
            # alone is the key.
            models.UniqueConstraint(fields=["integration", "token"], name="webhook_delivery_token"),
        ]
        indexes = [
            models.Index(fields=["integration", "-received_at"], name="webhook_delivery_recent"),
            models.Index(fields=["status", "next_attempt_at"], name="webhook_delivery_due"),
            models.Index(fields=["integration", "opportunity_id"], name="webhook_delivery_opp"),
        ]

    def __str__(self) -> str:
        return f"{self.event} delivery #{self.pk} ({self.status})"


class WebhookRejection(models.Model):
    """How many deliveries an integration rejected, by reason, per hour (bounded size)."""

    class Reason(models.TextChoices):
        BAD_SIGNATURE = "bad_signature", "Bad or missing signature"
        MALFORMED = "malformed", "Malformed body"
        TOO_LARGE = "too_large", "Body too large"
        UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type", "Not JSON (content type)"
        STALE = "stale", "Sent outside the accepted time window"

    integration = models.ForeignKey(
        "integrations.AtsIntegration", on_delete=models.CASCADE, related_name="webhook_rejections"
    )
    reason = models.CharField(max_length=32, choices=Reason.choices)
    hour = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)
    last_at = models.DateTimeField()

    class Meta:
        ordering = ["-hour"]
        constraints = [
            models.UniqueConstraint(
                fields=["integration", "reason", "hour"], name="webhook_rejection_bucket"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.count} x {self.reason} at {self.hour:%Y-%m-%d %H}:00"
