"""ATS integrations, their webhook subscriptions, opportunity links and audit log."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from integrations.fields import EncryptedTextField


class Ats(models.TextChoices):
    LEVER = "lever", "Lever"


class Region(models.TextChoices):
    US = "us", "US (api.lever.co)"
    EU = "eu", "EU (api.eu.lever.co)"
    SANDBOX = "sandbox", "Sandbox (api.sandbox.lever.co)"


class AtsIntegrationQuerySet(models.QuerySet["AtsIntegration"]):
    def enabled(self) -> AtsIntegrationQuerySet:
        return self.filter(enabled=True)


class AtsIntegration(models.Model):
    """One group's connection to one ATS. The API key is encrypted and never shown again."""

    class KeyStatus(models.TextChoices):
        NOT_SET = "not_set", "No key"
        CHECKING = "checking", "Checking"
        VALID = "valid", "Valid"
        INVALID = "invalid", "Invalid"
        UNREACHABLE = "unreachable", "Could not reach Lever"

    public_id = models.UUIDField("Integration ID", default=uuid.uuid4, unique=True, editable=False)
    group = models.ForeignKey(
        "accounts.Group", on_delete=models.CASCADE, related_name="ats_integrations"
    )
    ats = models.CharField(max_length=20, choices=Ats.choices, default=Ats.LEVER)
    enabled = models.BooleanField(default=True)
    region = models.CharField(max_length=10, choices=Region.choices, default=Region.US)

    api_key = EncryptedTextField(blank=True)
    api_key_last4 = models.CharField(max_length=4, blank=True)
    api_key_fingerprint = models.CharField(max_length=16, blank=True)
    api_key_set_at = models.DateTimeField(null=True, blank=True)
    # A replacement key waits here until it validates; the working key stays in use meanwhile.
    pending_api_key = EncryptedTextField(blank=True)
    pending_api_key_last4 = models.CharField(max_length=4, blank=True)
    pending_api_key_fingerprint = models.CharField(max_length=16, blank=True)

    lever_user_id = models.CharField("User ID", max_length=64, blank=True)
    rate_limit_per_second = models.FloatField(default=8.0)
    rate_limit_burst = models.PositiveIntegerField(default=10)

    key_status = models.CharField(
        max_length=16, choices=KeyStatus.choices, default=KeyStatus.NOT_SET
    )
    key_checked_at = models.DateTimeField(null=True, blank=True)
    # Per-check results of the last validation (auth, each permission, region, User ID).
    key_check_detail = models.JSONField(default=dict, blank=True)
    # Bumped on every check request; a check writes its result only if it is still the latest,
    # so a slow check of an old region/User ID can't overwrite (or pre-empt) a newer one.
    key_check_generation = models.PositiveIntegerField(default=0)

    # Health roll-up (healthchecks' Channel.last_error pattern).
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)

    # Reconciliation poll bookkeeping.
    reconciled_at = models.DateTimeField(null=True, blank=True)
    reconcile_cursor_ms = models.BigIntegerField(null=True, blank=True)
    unannounced_change_streak = models.PositiveIntegerField(default=0)

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = AtsIntegrationQuerySet.as_manager()

    class Meta:
        ordering = ["group__name", "ats"]
        constraints = [
            models.UniqueConstraint(fields=["group", "ats"], name="integration_one_per_group_ats"),
        ]

    def __str__(self) -> str:
        return f"{self.get_ats_display()} integration for {self.group}"

    @property
    def masked_api_key(self) -> str:
        return f"••••{self.api_key_last4}" if self.api_key_last4 else ""

    @property
    def has_api_key(self) -> bool:
        return bool(self.api_key_last4)


class WebhookEvent(models.TextChoices):
    CANDIDATE_STAGE_CHANGE = "candidateStageChange", "Candidate Stage Change"
    CANDIDATE_ARCHIVE_CHANGE = "candidateArchiveChange", "Candidate Archive State Change"
    CANDIDATE_HIRED = "candidateHired", "Candidate Hired"


class WebhookSubscription(models.Model):
    """One Lever webhook (per event type) and its signature token; the previous token stays
    valid during a rotation."""

    integration = models.ForeignKey(
        AtsIntegration, on_delete=models.CASCADE, related_name="webhook_subscriptions"
    )
    event = models.CharField(max_length=40, choices=WebhookEvent.choices)
    signature_token = EncryptedTextField(blank=True)
    signature_token_last4 = models.CharField(max_length=4, blank=True)
    previous_signature_token = EncryptedTextField(blank=True)
    lever_webhook_id = models.CharField(max_length=64, blank=True)
    last_delivery_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["integration", "event"]
        constraints = [
            models.UniqueConstraint(
                fields=["integration", "event"], name="webhook_subscription_one_per_event"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_event_display()} webhook"


class OpportunityLink(models.Model):
    """Links a Karat candidacy to the Lever opportunity it came from."""

    integration = models.ForeignKey(
        AtsIntegration, on_delete=models.CASCADE, related_name="opportunity_links"
    )
    candidacy = models.OneToOneField(
        "hiring.Candidacy", on_delete=models.CASCADE, related_name="opportunity_link"
    )
    opportunity_id = models.CharField(max_length=64)
    contact_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["integration", "opportunity_id"], name="opportunity_link_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"Lever opportunity {self.opportunity_id}"


class AuditEntry(models.Model):
    """Who did what to an integration, and when. Kept after the integration is deleted."""

    class Action(models.TextChoices):
        CREATED = "created", "Integration created"
        SETTINGS_CHANGED = "settings_changed", "Settings changed"
        API_KEY_SET = "api_key_set", "API key set"
        API_KEY_VALIDATED = "api_key_validated", "API key validated"
        API_KEY_REJECTED = "api_key_rejected", "API key rejected"
        WEBHOOKS_CHANGED = "webhooks_changed", "Webhooks changed"
        ENABLED = "enabled", "Integration enabled"
        DISABLED = "disabled", "Integration disabled"
        DELETED = "deleted", "Integration deleted"

    group = models.ForeignKey("accounts.Group", on_delete=models.CASCADE, related_name="+")
    integration = models.ForeignKey(
        AtsIntegration,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="audit_entries",
    )
    integration_public_id = models.UUIDField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=32, choices=Action.choices)
    summary = models.CharField(max_length=300)
    # Never a secret: key changes record the fingerprint and last 4 characters only.
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return self.summary
