"""ATS integrations, their webhook subscriptions, opportunity links and audit log."""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from integrations.fields import EncryptedTextField


class Ats(models.TextChoices):
    LEVER = "lever", "Lever"


class Region(models.TextChoices):
    # Plain names: each ATS adapter knows its hosts (``adapter.api_host(region)``).
    US = "us", "US"
    EU = "eu", "EU"
    SANDBOX = "sandbox", "Sandbox"


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

    # A copy of the key in use's status for lists, filters and the overall roll-up. The source
    # of truth is the KeyCheck rows: this is written only by services/keys.py, in the same
    # transaction as the row it summarises ("checking" while a check of the key in use runs).
    key_status = models.CharField(
        max_length=16, choices=KeyStatus.choices, default=KeyStatus.NOT_SET
    )
    key_checked_at = models.DateTimeField(null=True, blank=True)

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


class KeyCheck(models.Model):
    """One check of one API key with the ATS: requested, started, finished with an outcome.

    The latest finished row for the key in use (matched by fingerprint) is that key's status.
    A newer row for the same integration and subject supersedes an older one: the older
    check's result is never written. A row not finished some minutes after it was requested
    was lost (see services/keys.py ``KEY_CHECK_STUCK_AFTER``). The key itself is never stored.
    """

    class Subject(models.TextChoices):
        CURRENT = "current", "Key in use"
        PENDING = "pending", "New key"

    class Outcome(models.TextChoices):
        VALID = "valid", "Valid"
        INVALID = "invalid", "Invalid"
        UNREACHABLE = "unreachable", "Could not reach the ATS"

    integration = models.ForeignKey(
        AtsIntegration, on_delete=models.CASCADE, related_name="key_checks"
    )
    subject = models.CharField(max_length=10, choices=Subject.choices)
    api_key_last4 = models.CharField(max_length=4)
    api_key_fingerprint = models.CharField(max_length=16)
    # None: the system asked (a resumed check).
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Blank while running.
    outcome = models.CharField(max_length=16, choices=Outcome.choices, blank=True)
    # One result per permission line: {code, name, ok (None: not checked), message}.
    checks = models.JSONField(default=list, blank=True)
    summary = models.TextField(blank=True)
    # 1 for a request; a check lost on the way is requested again with attempt + 1.
    attempt = models.PositiveSmallIntegerField(default=1)

    # Not finished this long after it was requested: lost (broker down, worker died).
    STUCK_AFTER = timedelta(minutes=10)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["integration", "subject", "-id"], name="keycheck_latest"),
            models.Index(
                fields=["requested_at"],
                condition=models.Q(finished_at__isnull=True),
                name="keycheck_running",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_subject_display()} ••••{self.api_key_last4} check"

    @property
    def is_finished(self) -> bool:
        return self.finished_at is not None

    @property
    def is_stuck(self) -> bool:
        """Not finished long after it was asked for: the page says it did not finish."""
        return self.finished_at is None and self.requested_at < timezone.now() - self.STUCK_AFTER

    @property
    def status(self) -> str:
        """The outcome, or "checking" while it runs (the key status names)."""
        return self.outcome or AtsIntegration.KeyStatus.CHECKING


class WebhookSubscription(models.Model):
    """One Lever webhook (per event type) and its signature token; the previous token stays
    valid during a rotation."""

    integration = models.ForeignKey(
        AtsIntegration, on_delete=models.CASCADE, related_name="webhook_subscriptions"
    )
    # The ATS's own event name; the adapter lists the events it acts on (webhook_events).
    event = models.CharField(max_length=40)
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
        return f"{self.event} webhook"


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
        # Post candidacy updates (outbound)
        OUTBOUND_SETTINGS_CHANGED = "outbound_settings_changed", "Lever update settings changed"
        OUTBOUND_RETRIED = "outbound_retried", "Lever update retried"
        OUTBOUND_GIVEN_UP = "outbound_given_up", "Lever update given up"

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


# --- Post candidacy updates to Lever (the transactional outbox) ------------------------------


class OutboundSettings(models.Model):
    """What an integration writes to the ATS for each Karat milestone, and as whom.

    One row per integration, made with defaults on first use. Templates use Django template
    syntax over a plain context (see services/outbound.py ``NOTE_CONTEXT``); a blank template
    means the default one. The queue pause lives here too: a refused key stops every send of
    this integration until the key is fixed (services/outbound.py ``outbound_queue_resume_due``).
    """

    class PerformAs(models.TextChoices):
        INTEGRATION_USER = "integration_user", "The integration's User ID (Settings, Step 2)"
        LEVER_USER = "lever_user", "A Lever user picked by email"
        NONE = "none", "Nobody (Lever decides)"

    integration = models.OneToOneField(
        AtsIntegration, on_delete=models.CASCADE, related_name="outbound_settings"
    )
    enabled = models.BooleanField("Post updates to Lever", default=True)
    # milestone -> note template (Django template syntax); a missing or blank one is the default.
    note_templates = models.JSONField(default=dict, blank=True)
    notes_enabled = models.BooleanField("Write a note", default=True)
    secret_notes = models.BooleanField("Make notes secret", default=False)
    score_enabled = models.BooleanField("Score results notes (1 to 4)", default=False)
    tags_enabled = models.BooleanField("Keep a status tag", default=True)
    tag_prefix = models.CharField(max_length=40, default="Karat")
    links_enabled = models.BooleanField("Add the report link", default=True)
    perform_as = models.CharField(
        max_length=20, choices=PerformAs.choices, default=PerformAs.INTEGRATION_USER
    )
    # Picked by email from the ATS's users (perform_as = lever_user); never a secret.
    perform_as_user_id = models.CharField(max_length=64, blank=True)
    perform_as_email = models.EmailField(blank=True)
    perform_as_name = models.CharField(max_length=200, blank=True)
    # Off by default: a stage move changes the recruiter's pipeline. recommendation -> stage id.
    stage_moves_enabled = models.BooleanField("Move the stage on results", default=False)
    stage_rules = models.JSONField(default=dict, blank=True)
    # Key-level refusal: nothing is sent until the key is fixed (or the next probe succeeds).
    paused_at = models.DateTimeField(null=True, blank=True)
    paused_reason = models.TextField(blank=True)
    # One drain per integration at a time (more would only queue on the key's rate bucket and
    # hold worker slots other keys need); a killed drain's lease runs out by itself.
    drain_lease_until = models.DateTimeField(null=True, blank=True)
    # A drain was published and has not started yet: milestones in the meantime publish none
    # (one queued drain per integration, not one per milestone).
    drain_requested_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name_plural = "outbound settings"

    def __str__(self) -> str:
        return f"Outbound settings of {self.integration}"


class OutboundUpdate(models.Model):
    """One write to the ATS for one Karat milestone (a note, the status tag, a link, a stage
    move), written in the transaction that recorded the milestone and sent later, in order per
    opportunity (``sequence``). ``payload`` holds what is sent, never a secret."""

    class Kind(models.TextChoices):
        NOTE = "note", "Note"
        TAG = "tag", "Status tag"
        LINK = "link", "Report link"
        STAGE = "stage", "Stage move"

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        DEAD = "dead", "Gave up"
        CANCELLED = "cancelled", "Not sent"

    UNSENT = (Status.PENDING, Status.SENDING)
    FINISHED = (Status.SENT, Status.DEAD, Status.CANCELLED)

    integration = models.ForeignKey(
        AtsIntegration, on_delete=models.CASCADE, related_name="outbound_updates"
    )
    candidacy = models.ForeignKey(
        "hiring.Candidacy", on_delete=models.CASCADE, related_name="outbound_updates"
    )
    # The milestone's timeline event: its updates share one timeline entry once all are done.
    event = models.ForeignKey(
        "hiring.CandidacyEvent",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="outbound_updates",
    )
    opportunity_id = models.CharField(max_length=64)
    milestone = models.CharField(max_length=20)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    payload = models.JSONField(default=dict)
    # 1, 2, 3… per opportunity of the integration: a row is sent only when no row with a lower
    # sequence is still unsent (pending or sending).
    sequence = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    # Attempts the ATS's rate limit or a paused queue answered: they never count toward giving up.
    deferred = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    # The last attempt went out but no answer came back: it may have been applied.
    outcome_unknown = models.BooleanField(default=False)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    # A claim (one sender at a time, across replicas): who and when; stale claims are swept.
    claimed_by = models.CharField(max_length=100, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    # The note's id in the ATS, once created (or found after a lost answer).
    remote_id = models.CharField(max_length=64, blank=True)
    timeline_recorded = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["integration", "opportunity_id", "sequence"],
                name="outbound_update_sequence",
            ),
        ]
        indexes = [
            # The sweeper and drains: due rows of an integration, oldest first.
            models.Index(
                fields=["integration", "status", "next_attempt_at"], name="outbound_update_due"
            ),
            models.Index(fields=["status", "claimed_at"], name="outbound_update_claims"),
            models.Index(fields=["integration", "-created_at"], name="outbound_update_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.milestone} #{self.pk} ({self.status})"
