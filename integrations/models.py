"""ATS integrations, their webhook subscriptions, opportunity links and audit log."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
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


class RegionSource(models.TextChoices):
    """How an integration's region was set: from the key (the region whose API accepts it)
    unless an admin chose one."""

    DETECT = "detect", "to be detected from the API key"
    DETECTED = "detected", "detected from the API key"
    CHOSEN = "chosen", "chosen by an admin"


class AtsIntegrationQuerySet(models.QuerySet["AtsIntegration"]):
    def enabled(self) -> AtsIntegrationQuerySet:
        return self.filter(enabled=True)

    def reconcile_due(self) -> AtsIntegrationQuerySet:
        """The integrations the periodic reconciliation polls (and with it the poll of deleted
        candidates): enabled, with a key, and with a linked candidacy or the automatic invite
        on. One rule for the scheduler and for the status page that says when it runs."""
        return (
            self.filter(enabled=True)
            .filter(
                models.Q(opportunity_links__isnull=False)
                | models.Q(auto_invite_rule__enabled=True, auto_invite_rule__stage_id__gt="")
            )
            .exclude(api_key_last4="")
            .distinct()
        )


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
    # Until an admin chooses one, the key check sets the region (detect → detected).
    region_source = models.CharField(
        max_length=10, choices=RegionSource.choices, default=RegionSource.DETECT
    )

    api_key = EncryptedTextField(blank=True)
    api_key_last4 = models.CharField(max_length=4, blank=True)
    api_key_fingerprint = models.CharField(max_length=16, blank=True)
    api_key_set_at = models.DateTimeField(null=True, blank=True)
    # A replacement key waits here until it validates; the working key stays in use meanwhile.
    pending_api_key = EncryptedTextField(blank=True)
    pending_api_key_last4 = models.CharField(max_length=4, blank=True)
    pending_api_key_fingerprint = models.CharField(max_length=16, blank=True)

    ats_user_id = models.CharField("User ID", max_length=64, blank=True)
    rate_limit_per_second = models.FloatField(default=10.0)
    rate_limit_burst = models.PositiveIntegerField(default=20)

    # A copy of the key in use's status for lists, filters and the overall roll-up. The source
    # of truth is the KeyCheck rows: this is written only by
    # integrations/connection/services/keys.py, in the same transaction as the row it
    # summarises ("checking" while a check of the key in use runs).
    key_status = models.CharField(
        max_length=16, choices=KeyStatus.choices, default=KeyStatus.NOT_SET
    )
    key_checked_at = models.DateTimeField(null=True, blank=True)
    # The last periodic probe that found the ATS still accepting the key in use (one cheap read,
    # integrations/connection/services/keys.py ``api_keys_recheck_due``); a refused probe runs
    # a full check.
    key_probed_at = models.DateTimeField(null=True, blank=True)

    # Health roll-up (healthchecks' Channel.last_error pattern).
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)

    # Reconciliation poll bookkeeping.
    reconciled_at = models.DateTimeField(null=True, blank=True)
    reconcile_cursor_ms = models.BigIntegerField(null=True, blank=True)

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
    was lost (see integrations/connection/services/keys.py ``KEY_CHECK_STUCK_AFTER``). The key
    itself is never stored.
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
    # Set when the reconciliation finds a change of the kind this event announces that no
    # delivery of it announced (the webhook is probably switched off in the ATS, whose API does
    # not say); the next verified delivery of the event clears both. Written only by
    # webhooks/services (reconcile.py sets, intake.py clears).
    missed_at = models.DateTimeField(null=True, blank=True)
    missed_count = models.PositiveIntegerField(default=0)
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
    """Links a Karat candidacy to the ATS opportunity it came from.

    Every link is live: there is no unlinked state, a link goes with its candidacy or its
    integration (cascade). ATS opportunity ids are globally unique, so an organization has at
    most one link per opportunity, whichever of its groups (each with its own integration)
    invited it: the ``opportunity_link_one_per_organization`` constraint. A link attached
    to an existing candidacy later can be detached (deleted): ``integrations/late_links``.
    """

    integration = models.ForeignKey(
        AtsIntegration, on_delete=models.CASCADE, related_name="opportunity_links"
    )
    # A copy of the integration's group's organization, for the constraint (set by save()).
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="+", editable=False
    )
    candidacy = models.OneToOneField(
        "hiring.Candidacy", on_delete=models.CASCADE, related_name="opportunity_link"
    )
    opportunity_id = models.CharField(max_length=64)
    contact_id = models.CharField(max_length=64, blank=True)
    # The recruiter-facing ATS link the candidacy was invited from (canonical form).
    url = models.URLField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "opportunity_id"],
                name="opportunity_link_one_per_organization",
            ),
            # Implied by the one above; kept as the index of the per-integration lookups
            # (webhook deliveries, reconciliation, the activity page).
            models.UniqueConstraint(
                fields=["integration", "opportunity_id"], name="opportunity_link_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"Lever opportunity {self.opportunity_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # The one exception to "no logic in save()": the organization is derived, never
        # chosen, so every way of saving a link (services, admin, demo data, tests) gets it
        # right without repeating it.
        self.organization_id = self.integration.group.organization_id
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "integration" in update_fields:
            kwargs["update_fields"] = {*update_fields, "organization"}
        super().save(*args, **kwargs)


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
        AUTO_INVITE_CHANGED = "auto_invite_changed", "Automatic invite changed"
        AUTO_INVITED = "auto_invited", "Candidate invited automatically"
        STATUS_FAILING = "status_failing", "Alert: integration not working"
        STATUS_RECOVERED = "status_recovered", "Alert: integration working again"
        # Post candidacy updates (outbound)
        OUTBOUND_SETTINGS_CHANGED = "outbound_settings_changed", "Lever update settings changed"
        OUTBOUND_RETRIED = "outbound_retried", "Lever update retried"
        OUTBOUND_GIVEN_UP = "outbound_given_up", "Lever update given up"
        # Roles: an admin's decisions about postings (automatic matching is not audited)
        ROLE_MAPPED = "role_mapped", "Posting mapped to a Karat role"
        ROLE_UNMAPPED = "role_unmapped", "Posting left unmatched"
        ROLE_MAPPING_RESET = "role_mapping_reset", "Posting matched automatically again"
        ROLE_CREATED = "role_created", "Karat role created from a posting"
        # A Lever link attached to / detached from an existing candidacy (late_links)
        LINK_ATTACHED = "link_attached", "Lever link attached to a candidacy"
        LINK_DETACHED = "link_detached", "Lever link detached from a candidacy"
        LATE_LINK_SETTINGS_CHANGED = "late_link_settings_changed", "Attaching Lever links changed"
        # Deletions and anonymisation honoured (integrations/deletions/)
        DELETION_POLICY_CHANGED = "deletion_policy_changed", "Deletion policy changed"
        CANDIDATE_UNLINKED = "candidate_unlinked", "Deleted candidate unlinked"
        CANDIDATE_ANONYMISED = "candidate_anonymised", "Deleted candidate anonymised"

        # The Karat interview on Lever's schedule (integrations/panels/)
        PANELS_SETTINGS_CHANGED = "panels_settings_changed", "Interview panel setting changed"

        # Hiring team from the ATS (integrations/hiring_team)
        HIRING_TEAM_SETTINGS_CHANGED = "hiring_team_changed", "Hiring team settings changed"

        # Results as a feedback form (integrations/feedback/)
        FEEDBACK_SETTINGS_CHANGED = "feedback_settings_changed", "Feedback form option changed"

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


# --- invites (integrations/invites/services/) -------------------------------------------------


class InviteBatch(models.Model):
    """One paste of candidate URLs: previewed, then (partly) invited, row by row.

    Small batches run inside the request; larger ones in a Celery task that updates
    ``processed`` as it goes, so the page's progress bar can poll it. The summary stays
    available at the batch's own URL afterwards.
    """

    class Status(models.TextChoices):
        PREVIEWING = "previewing", "Reading candidates from the ATS"
        PREVIEWED = "previewed", "Ready to invite"
        INVITING = "inviting", "Inviting"
        DONE = "done", "Done"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    group = models.ForeignKey("accounts.Group", on_delete=models.CASCADE, related_name="+")
    # None when the group had no integration: every row then says so.
    integration = models.ForeignKey(
        AtsIntegration, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PREVIEWING)
    # Rows handled in the current phase (preview, then invite): the progress bar's numerator.
    processed = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # One run of a phase at a time (the request's or a task's), renewed per row; a run that
    # died (a killed worker, a crashed web process) lets it run out.
    lease_until = models.DateTimeField(null=True, blank=True)
    # Last time a phase was started, published or finished a row: a running batch untouched
    # for INVITE_BATCH_STALL_SECONDS with no lease is published again (batches.py).
    touched_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "touched_at"], name="invite_batch_running")]

    def __str__(self) -> str:
        return f"Invite batch {self.public_id}"

    @property
    def percent(self) -> int:
        return int(100 * self.processed / self.total) if self.total else 100


class InviteItem(models.Model):
    """One pasted URL of a batch: what the ATS said about it, and what became of it."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting"
        READY = "ready", "Ready to invite"
        ERROR = "error", "Can't be invited"
        SELECTED = "selected", "To invite"
        INVITED = "invited", "Invited"
        SKIPPED = "skipped", "Skipped"

    batch = models.ForeignKey(InviteBatch, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveIntegerField()
    url = models.TextField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    # A stable code for machines (invites/services/preview.py ``InviteCode``) and its message.
    code = models.CharField(max_length=32, blank=True)
    message = models.CharField(max_length=500, blank=True)
    opportunity_id = models.CharField(max_length=64, blank=True)
    # What the preview showed (from the ATS): see ``InvitePreview`` (invites/services/preview.py).
    preview = models.JSONField(default=dict, blank=True)
    # Warning codes of the preview: already_invited, recent_interview, archived, hired, no_email.
    warnings = models.JSONField(default=list, blank=True)
    role = models.ForeignKey(
        "hiring.Role", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    candidacy = models.ForeignKey(
        "hiring.Candidacy", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["batch", "position"]
        constraints = [
            models.UniqueConstraint(fields=["batch", "position"], name="invite_item_position"),
        ]

    def __str__(self) -> str:
        return f"{self.batch_id}#{self.position}"


class InvitationEmail(models.Model):
    """One invitation email: rendered in the invite's transaction (so what is sent is what
    was invited), sent after commit by a worker, retried with backoff when the mail server
    fails (integrations/invites/services/emails.py). Its outcome is on the candidacy's
    timeline."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    candidacy = models.ForeignKey(
        "hiring.Candidacy", on_delete=models.CASCADE, related_name="invitation_emails"
    )
    # Exactly one plain address, checked before the row is written (``address_problem``).
    to = models.CharField(max_length=254)
    subject = models.CharField(max_length=300)
    body = models.TextField()
    html_body = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    # Set while a worker sends it (status sending); an old claim belongs to a killed worker.
    claimed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="invitation_email_due"),
            models.Index(fields=["status", "claimed_at"], name="invitation_email_claims"),
        ]

    def __str__(self) -> str:
        return f"Invitation email #{self.pk} ({self.status})"


class AutoInviteRule(models.Model):
    """Per integration: invite candidates who enter one ATS stage (off by default).

    Empty ``posting_ids`` / ``origins`` mean "any". ``role`` is used when the opportunity's
    posting matches no Karat role; without it such candidates are skipped.
    """

    integration = models.OneToOneField(
        AtsIntegration, on_delete=models.CASCADE, related_name="auto_invite_rule"
    )
    enabled = models.BooleanField(default=False)
    stage_id = models.CharField(max_length=100, blank=True)
    stage_name = models.CharField(max_length=200, blank=True)
    posting_ids = models.JSONField(default=list, blank=True)
    origins = models.JSONField(default=list, blank=True)
    role = models.ForeignKey(
        "hiring.Role", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_action_at = models.DateTimeField(null=True, blank=True)
    last_action = models.CharField(max_length=300, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Automatic invite for {self.integration}"


class IntegrationStatus(models.Model):
    """The status page's snapshot of one integration, computed in the background
    (integrations/status/services.py) and read by the status page, the list and the API.

    ``features`` is a list of ``dataclasses.asdict(FeatureHealth)`` (each with its ``checks``);
    ``basic`` holds what the Basic information section needs from the ATS (the acting user).
    ``alert_state`` remembers what the admins were last told, so each transition emails once:
    it is changed with a conditional UPDATE and only the worker whose UPDATE matched sends.
    """

    class AlertState(models.TextChoices):
        NEVER_HEALTHY = "", "Never healthy yet"  # a new integration: nothing to alert about
        HEALTHY = "healthy", "Healthy"
        FAILING = "failing", "Failing (admins told)"

    integration = models.OneToOneField(
        AtsIntegration, on_delete=models.CASCADE, related_name="status_snapshot"
    )
    # Overall roll-up (selectors.integration_overall_status): level is a badge name.
    level = models.CharField(max_length=10, blank=True)
    label = models.CharField(max_length=40, blank=True)
    explanation = models.TextField(blank=True)
    # Datetimes inside are stored as ISO 8601 strings (DjangoJSONEncoder).
    basic = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    features = models.JSONField(default=list, blank=True, encoder=DjangoJSONEncoder)
    # None until the first computation finished.
    computed_at = models.DateTimeField(null=True, blank=True)
    # Set by a refresh request; a recompute is pending while it is later than computed_at.
    requested_at = models.DateTimeField(null=True, blank=True)
    request_reason = models.CharField(max_length=200, blank=True)
    # The latest request that found one already pending (deduplicated): a computation that
    # started before it runs once more when it ends.
    requested_again_at = models.DateTimeField(null=True, blank=True)
    alert_state = models.CharField(
        max_length=10, choices=AlertState.choices, default=AlertState.NEVER_HEALTHY, blank=True
    )
    alert_changed_at = models.DateTimeField(null=True, blank=True)

    # A requested recompute not done this long after it was asked for was lost (no worker):
    # the page stops waiting for it.
    PENDING_FOR = timedelta(minutes=2)

    class Meta:
        verbose_name_plural = "integration statuses"

    def __str__(self) -> str:
        return f"{self.label or 'Not computed'} ({self.integration_id})"

    @property
    def lost(self) -> bool:
        """A requested recompute never finished (no worker answered in PENDING_FOR)."""
        return (
            self.requested_at is not None
            and (self.computed_at is None or self.computed_at < self.requested_at)
            and not self.pending
        )

    @property
    def pending(self) -> bool:
        """A recompute was asked for and has not finished yet (and is not lost)."""
        if self.requested_at is None:
            return False
        if self.computed_at is not None and self.computed_at >= self.requested_at:
            return False
        return self.requested_at > timezone.now() - self.PENDING_FOR


# --- role matching: postings synced from the ATS and their Karat roles ------------------------


class PostingSyncRun(models.Model):
    """One sync of an integration's postings: a full list or the changes since a time.

    A run reads the ATS page by page; after each page it stores the page's postings and the
    cursor of the next page in the same transaction, so a run that fails part-way keeps what
    it read and a later attempt continues from ``cursor`` (roles/services/sync.py).
    """

    class Kind(models.TextChoices):
        FULL = "full", "Full"
        INCREMENTAL = "incremental", "Changes only"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    ACTIVE = (Status.QUEUED, Status.RUNNING)
    # Active but untouched this long: its worker died; the next request takes it over.
    STUCK_AFTER = timedelta(minutes=15)

    integration = models.ForeignKey(
        AtsIntegration, on_delete=models.CASCADE, related_name="posting_sync_runs"
    )
    kind = models.CharField(max_length=12, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    # None: the system asked (key saved, hourly schedule).
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Incremental runs: postings changed at or after this (the ATS's ms since the epoch, UTC).
    updated_since_ms = models.BigIntegerField(null=True, blank=True)
    # Where the next page starts (the adapter's opaque cursor); blank before the first page.
    cursor = models.TextField(blank=True)
    pages_done = models.PositiveIntegerField(default=0)
    postings_seen = models.PositiveIntegerField(default=0)
    # For the progress bar: how many postings the integration had when the run began.
    postings_expected = models.PositiveIntegerField(default=0)
    postings_removed = models.PositiveIntegerField(default=0)
    # False when the key may not read confidential postings (so the list left them out).
    confidential_included = models.BooleanField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["integration", "-id"], name="postingsync_latest")]
        constraints = [
            models.UniqueConstraint(
                fields=["integration"],
                condition=models.Q(status__in=["queued", "running"]),
                name="postingsync_one_active",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} posting sync ({self.get_status_display()})"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE

    @property
    def progress_percent(self) -> int:
        """Postings read so far against the count before the run (ATS lists give no total)."""
        if self.status == self.Status.SUCCEEDED:
            return 100
        expected = max(self.postings_expected, self.postings_seen, 1)
        return min(99, self.postings_seen * 100 // expected)


class AtsPosting(models.Model):
    """One posting (job opening) of the integration's ATS, as last synced.

    ``removed_at`` is set when a full sync no longer finds it (deleted in the ATS, or no longer
    readable by the key); it is set back to None if it comes back.
    """

    integration = models.ForeignKey(
        AtsIntegration, on_delete=models.CASCADE, related_name="postings"
    )
    posting_id = models.CharField(max_length=64)
    title = models.CharField(max_length=300)
    # The title with case, spacing and punctuation normalised: what title matching compares.
    title_key = models.CharField(max_length=300, db_index=True)
    team = models.CharField(max_length=200, blank=True)
    location = models.CharField(max_length=200, blank=True)
    # The ATS's state name (Lever: published, internal, closed, draft, pending, rejected).
    state = models.CharField(max_length=20)
    requisition_codes = models.JSONField(default=list, blank=True)
    confidential = models.BooleanField(default=False)
    # The ATS's own last change (ms since the epoch, UTC).
    remote_updated_at_ms = models.BigIntegerField(null=True, blank=True)
    last_seen_run = models.ForeignKey(
        PostingSyncRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    synced_at = models.DateTimeField(default=timezone.now)
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["title", "posting_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["integration", "posting_id"], name="ats_posting_unique"
            ),
        ]
        indexes = [models.Index(fields=["integration", "state"], name="ats_posting_state")]

    def __str__(self) -> str:
        return self.title or self.posting_id


class RoleMapping(models.Model):
    """Which Karat role a posting's candidates interview for, and how that was decided.

    Automatic rows (requisition code, title, conflict) are recomputed after every sync;
    an admin's rows (mapped, or unmapped on purpose) are never changed by a sync.
    """

    class Method(models.TextChoices):
        REQUISITION_CODE = "requisition_code", "Automatically, by requisition code"
        TITLE = "title", "Automatically, by title"
        # No role: two roles or two postings claim the same match; an admin decides.
        CONFLICT = "conflict", "Not matched: conflict"
        ADMIN = "admin", "By an admin"
        UNMAPPED = "unmapped", "Unmatched by an admin"

    AUTOMATIC = (Method.REQUISITION_CODE, Method.TITLE, Method.CONFLICT)
    MANUAL = (Method.ADMIN, Method.UNMAPPED)

    posting = models.OneToOneField(AtsPosting, on_delete=models.CASCADE, related_name="mapping")
    role = models.ForeignKey(
        "hiring.Role",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="posting_mappings",
    )
    method = models.CharField(max_length=20, choices=Method.choices)
    # Why an automatic match was not made (conflicts), for the roles page.
    note = models.CharField(max_length=300, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(role__isnull=False)
                | models.Q(method__in=["conflict", "unmapped"]),
                name="role_mapping_role_unless_unmatched",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.posting} → {self.role or 'no role'}"

    @property
    def is_manual(self) -> bool:
        return self.method in self.MANUAL


# --- Post candidacy updates to Lever (the transactional outbox) ------------------------------


class OutboundSettings(models.Model):
    """What an integration writes to the ATS for each Karat milestone, and as whom.

    One row per integration, made with defaults on first use. Templates are in the note
    language (outbound/note_language.py: an allow-list of Django's tags and filters over
    notes.py's ``NOTE_CONTEXT``); a blank template means the default one. The queue pause lives here too: a refused key stops every send of
    this integration until the key is fixed (outbound/services/drain.py ``_resume_if_due``: after a passing key check, or a probe).
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
    # Off by default: puts the Karat interview on the ATS's schedule as a panel
    # (integrations/panels/); written through this outbox, so it needs ``enabled`` too.
    panels_enabled = models.BooleanField(
        "Put the Karat interview on Lever's schedule", default=False
    )
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
        # The Karat interview as an ATS panel (integrations/panels/); 10 characters at most.
        PANEL_CREATE = "panel_add", "Interview panel created"
        PANEL_UPDATE = "panel_edit", "Interview panel rescheduled"
        PANEL_DELETE = "panel_del", "Interview panel removed"
        # Results as a feedback form (integrations/feedback/): post or update, and remove.
        FEEDBACK = "feedback", "Feedback form"
        FEEDBACK_REMOVE = "fb_remove", "Feedback form removal"

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        DEAD = "dead", "Gave up"
        CANCELLED = "cancelled", "Not sent"

    UNSENT = (Status.PENDING, Status.SENDING)
    FINISHED = (Status.SENT, Status.DEAD, Status.CANCELLED)

    # No index of its own: every index below leads with the integration. A bare one was the
    # PostgreSQL planner's pick for the claim on stale statistics (issue #23), reading every row
    # of the integration instead of the claim's partial indexes.
    integration = models.ForeignKey(
        AtsIntegration, on_delete=models.CASCADE, related_name="outbound_updates", db_index=False
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
    # ...and may still be applied until then (OUTBOUND_UNKNOWN_OUTCOME_WAIT_SECONDS after Karat
    # stopped waiting): until then this row is neither looked for nor sent again, and no later
    # row of its opportunity is sent, whatever its status or next_attempt_at say.
    outcome_unknown_until = models.DateTimeField(null=True, blank=True)
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
            # The claim (issue #23): due rows of an integration in the claim's exact order, so a
            # LIMIT stops after the window whatever the statistics say (waiting rows only).
            models.Index(
                fields=["integration", "next_attempt_at", "id"],
                name="outbound_update_claim_order",
                condition=models.Q(status="pending"),
            ),
            # ...and the rows that hold back the later rows of their opportunity (unsent, or an
            # attempt that may still land): the claim's check per opportunity reads only these.
            models.Index(
                fields=["integration", "opportunity_id", "sequence"],
                name="outbound_update_blocking",
                condition=models.Q(status__in=["pending", "sending"])
                | models.Q(outcome_unknown_until__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.milestone} #{self.pk} ({self.status})"


# --- a feature's settings, one row per integration ---------------------------------------------


class FeatureSettings(models.Model):
    """What every feature's settings row has besides its options and its one-to-one
    ``integration`` (each feature names its own reverse accessor): who changed it last, and
    when (UTC)."""

    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        abstract = True


# --- late links (integrations/late_links/) ------------------------------------------------------


class LateLinkSettings(FeatureSettings):
    """Per integration: may members attach a Lever link to a candidacy that has none (off by
    default: attaching posts the candidacy's earlier milestones to Lever through the outbox)."""

    integration = models.OneToOneField(
        AtsIntegration, on_delete=models.CASCADE, related_name="late_link_settings"
    )
    enabled = models.BooleanField(
        "Allow attaching a Lever link to an existing candidacy", default=False
    )

    class Meta:
        verbose_name_plural = "late link settings"

    def __str__(self) -> str:
        return f"Late link settings of {self.integration}"


# --- the Karat interview on the ATS's schedule (integrations/panels/) -----------------------


class InterviewPanel(models.Model):
    """A panel (a scheduled interview on the opportunity) that Karat created in the ATS for a
    candidacy's booked Karat interview: the only panels Karat ever changes or removes.

    One row per booking: a reschedule updates it, cancellation or expiry removes it, a
    completed interview leaves it in the ATS (``closed``). ``remote_id`` is the ATS's panel
    id, blank until the create was sent. Times are UTC; ``duration_minutes`` in minutes.
    """

    class State(models.TextChoices):
        # The create is queued in the outbox (or being retried).
        PENDING = "pending", "Being created"
        ACTIVE = "active", "On the schedule"
        # Karat removed it (the interview was cancelled or expired).
        DELETED = "deleted", "Removed by Karat"
        # Gone from the ATS without Karat (a person deleted it, or the opportunity): never
        # recreated for this booking (docs/interview-panels.md).
        GONE = "gone", "Removed in the ATS"
        # The create failed for good (refused, or given up): the next booking tries again.
        FAILED = "failed", "Could not be created"
        # The interview took place (or a redo started a new attempt): left as it is.
        CLOSED = "closed", "Kept (interview done)"

    CURRENT = (State.PENDING, State.ACTIVE)

    integration = models.ForeignKey(
        AtsIntegration, on_delete=models.CASCADE, related_name="interview_panels"
    )
    candidacy = models.ForeignKey(
        "hiring.Candidacy", on_delete=models.CASCADE, related_name="interview_panels"
    )
    opportunity_id = models.CharField(max_length=64)
    remote_id = models.CharField(max_length=64, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    # What the panel says now (or will once the queued write is sent).
    scheduled_at = models.DateTimeField()
    duration_minutes = models.PositiveSmallIntegerField()
    # The IANA time zone the panel is shown in (Lever's ``timezone``).
    time_zone = models.CharField(max_length=64)
    # Why it is gone or failed, for the activity and status pages.
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["candidacy", "-id"], name="interview_panel_latest"),
            models.Index(fields=["integration", "state"], name="interview_panel_state"),
        ]

    def __str__(self) -> str:
        return f"Interview panel #{self.pk} of {self.opportunity_id} ({self.state})"


# --- Hiring team from the ATS (integrations/hiring_team) --------------------------------------


class HiringTeamSettings(FeatureSettings):
    """Whether the integration keeps Karat's role followers and candidacy recruiters in line
    with the ATS's hiring teams. Both are off until an admin turns them on: they change Karat
    data (followers, recruiters) that people may have set by hand, by matching emails.
    One row per integration, made with defaults on first use."""

    integration = models.OneToOneField(
        AtsIntegration, on_delete=models.CASCADE, related_name="hiring_team_settings"
    )
    role_followers_enabled = models.BooleanField(
        "Role followers follow the Lever hiring team", default=False
    )
    recruiter_follows_owner = models.BooleanField(
        "A candidacy's recruiter follows the Lever opportunity owner", default=False
    )
    # The last time role followers were brought in line (after a posting sync, or when turned
    # on) and what it found, for the status page.
    followers_synced_at = models.DateTimeField(null=True, blank=True)
    followers_not_in_karat = models.PositiveIntegerField(default=0)
    # The last read of an opportunity's owner that was usable / that was not (the expansion
    # missing or malformed: the recruiter stayed), for the status page.
    owner_read_at = models.DateTimeField(null=True, blank=True)
    owner_unreadable_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "hiring team settings"

    def __str__(self) -> str:
        return f"Hiring team settings of {self.integration}"


class PostingHiringTeam(models.Model):
    """A posting's hiring team as the last posting sync read it (every sync, whether the
    feature is on or not: one request either way). ``members``: ``[{"user_id", "name",
    "email", "team_roles"}]``, emails validated ("" when unusable). ``complete`` False: the
    ATS's answer did not carry the team (expansion missing or malformed), so ``members`` is
    what an earlier sync read."""

    posting = models.OneToOneField(AtsPosting, on_delete=models.CASCADE, related_name="hiring_team")
    members = models.JSONField(default=list, blank=True)
    complete = models.BooleanField(default=True)
    read_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Hiring team of {self.posting}"


# --- Results as a Lever feedback form (opt-in; integrations/feedback/) ---------------------------


class FeedbackSettings(FeatureSettings):
    """Whether an integration posts Karat's results as a feedback form, and the template Karat
    created for it in the ATS. One row per integration, made (off) on first use.

    The forms themselves are outbound rows (``OutboundUpdate.Kind.FEEDBACK`` /
    ``FEEDBACK_REMOVE``): a posted form's id is the ``remote_id`` of the row that posted it.
    """

    integration = models.OneToOneField(
        AtsIntegration, on_delete=models.CASCADE, related_name="feedback_settings"
    )
    enabled = models.BooleanField("Post results as a feedback form", default=False)
    # Written into the template's instructions, so a template whose creation got no answer is
    # found again instead of created twice.
    template_marker = models.CharField(max_length=40, blank=True)
    # The template in the ATS, once created ("" before, or after the ATS lost it).
    template_id = models.CharField(max_length=64, blank=True)
    # Karat's field key -> the ATS's field id; the score field's option texts.
    template_field_ids = models.JSONField(default=dict, blank=True)
    template_score_options = models.JSONField(default=list, blank=True)
    template_created_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "feedback settings"

    def __str__(self) -> str:
        return f"Feedback form settings of {self.integration}"


# --- Deletions and anonymisation honoured (integrations/deletions/) ---------------------------


class DeletionSettings(FeatureSettings):
    """What Karat does with a candidacy whose candidate was deleted or anonymised in the ATS,
    and the bookkeeping of the poll for deletions whose webhook was missed. One row per
    integration, made with defaults on first use. Nothing is ever written to the ATS."""

    class Policy(models.TextChoices):
        UNLINK = "unlink", "Unlink: keep the candidacy, forget the Lever candidate"
        ANONYMISE = "anonymise", "Anonymise: also erase the candidate's personal data"

    integration = models.OneToOneField(
        AtsIntegration, on_delete=models.CASCADE, related_name="deletion_settings"
    )
    policy = models.CharField(max_length=10, choices=Policy.choices, default=Policy.UNLINK)
    # The deleted-opportunities poll: deletions at or after this were read (the ATS's ms, UTC).
    deleted_cursor_ms = models.BigIntegerField(null=True, blank=True)
    polled_at = models.DateTimeField(null=True, blank=True)
    # The last poll's failure, for the status page ("" after a poll that worked).
    poll_error = models.TextField(blank=True)
    poll_error_at = models.DateTimeField(null=True, blank=True)
    # Candidacies this integration unlinked or anonymised, and when the last one was.
    honoured_count = models.PositiveIntegerField(default=0)
    honoured_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "deletion settings"

    def __str__(self) -> str:
        return f"Deletion settings of {self.integration}"
