"""hiring 0011: timeline text stored with "Lever" in it is rewritten to name no ATS, and back."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps

from karatlever.hiring.models import CandidacyEvent
from tests.factories import CandidacyFactory

pytestmark = pytest.mark.django_db

migration = importlib.import_module("karatlever.hiring.migrations.0011_neutral_ats_summaries")

Kind = CandidacyEvent.Kind
# (kind, summary as written before, as written now)
CASES = [
    (Kind.ATS_UPDATE, "Cancelled: posted to Lever", "Cancelled: posted to the ATS"),
    (Kind.ATS_UPDATE, "Invited: partly posted to Lever", "Invited: partly posted to the ATS"),
    (
        Kind.ATS_LINKED,
        "Linked to the Lever candidate Ada Lovelace",
        "Linked to the candidate Ada Lovelace in the ATS",
    ),
    (
        Kind.ATS_UNLINKED,
        "Unlinked from Lever; 2 waiting update(s) not sent",
        "Unlinked from the ATS; 2 waiting update(s) not sent",
    ),
    (
        Kind.ATS_UNLINKED,
        "The candidate was deleted in Lever: the candidacy is no longer linked, and Karat "
        "writes nothing more to Lever about it.",
        "The candidate was deleted in the ATS: the candidacy is no longer linked, and Karat "
        "writes nothing more to the ATS about it.",
    ),
    (
        Kind.INVITE_SENT,
        "Invited from a Lever link; the invitation email to a@example.com is queued.",
        "Invited from a link to the ATS; the invitation email to a@example.com is queued.",
    ),
    (
        Kind.INVITE_SENT,
        "Invited through the API from a Lever link; the invitation email to a@example.com is "
        "queued.",
        "Invited through the API from a link to the ATS; the invitation email to a@example.com "
        "is queued.",
    ),
    (
        Kind.INVITE_SENT,
        "Automatic invite: entered Lever stage “Phone screen” (seen in a webhook); the "
        "invitation email to a@example.com is queued.",
        "Automatic invite: entered the ATS stage “Phone screen” (seen in a webhook); the "
        "invitation email to a@example.com is queued.",
    ),
]


def test_old_summaries_and_invite_reasons_lose_lever_and_get_it_back_going_backwards() -> None:
    candidacy = CandidacyFactory()
    events = [
        CandidacyEvent.objects.create(
            candidacy=candidacy,
            kind=kind,
            source=CandidacyEvent.Source.KARAT,
            summary=old,
            detail={"reason": old.split(";")[0]} if kind == Kind.INVITE_SENT else {},
            occurred_at=candidacy.created_at,
        )
        for kind, old, _new in CASES
    ]
    # Stage names come from the ATS: one that says "Lever" stays as it is.
    stage = CandidacyEvent.objects.create(
        candidacy=candidacy,
        kind=Kind.ATS_STAGE_CHANGED,
        source=CandidacyEvent.Source.ATS,
        summary="Stage: Lever onboarding → Offer",
        occurred_at=candidacy.created_at,
    )

    migration.forwards(apps, None)
    forwards = {e.pk: CandidacyEvent.objects.get(pk=e.pk) for e in events}
    migration.backwards(apps, None)

    for event, (kind, old, new) in zip(events, CASES, strict=True):
        assert forwards[event.pk].summary == new
        if kind == Kind.INVITE_SENT:
            assert forwards[event.pk].detail["reason"] == new.split(";")[0]
        assert CandidacyEvent.objects.get(pk=event.pk).summary == old
    stage.refresh_from_db()
    assert stage.summary == "Stage: Lever onboarding → Offer"
