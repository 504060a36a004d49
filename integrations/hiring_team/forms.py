"""The hiring team's Settings form."""

from __future__ import annotations

from django import forms

from karatlever.forms import SettingsSectionForm


class HiringTeamSettingsForm(SettingsSectionForm):
    """Role followers and candidacy recruiters from the Lever hiring team, each on or off."""

    section_id = "hiring-team"

    role_followers_enabled = forms.BooleanField(
        label="Role followers follow the Lever hiring team",
        required=False,
        help_text="At every posting sync, each role's followers become the owner, hiring "
        "manager and followers of the Lever postings mapped to it (matched to Karat users by "
        "email). People without a Karat account are listed as “not in Karat”. Followers an "
        "admin added stay.",
    )
    recruiter_follows_owner = forms.BooleanField(
        label="A candidacy's recruiter follows the Lever opportunity owner",
        required=False,
        help_text="On every webhook and periodic read, the recruiter becomes the Karat user "
        "with the owner's email; an owner without a Karat account leaves the recruiter as it "
        "was, and the candidacy says so.",
    )
