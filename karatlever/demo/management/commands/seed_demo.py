"""`manage.py seed_demo`: the idempotent demo organization that `make run` starts with."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from karatlever.accounts.models import Group, Membership, Organization, User

ORGANIZATION = "Acme Corp"
ENGINEERING = "Engineering"
DATA = "Data"
ADMIN_EMAIL = "admin@acme.test"
ADMIN_PASSWORD = "karat-demo-admin"  # noqa: S105 - public demo credential, printed on purpose
RECRUITER_EMAIL = "recruiter@acme.test"
RECRUITER_PASSWORD = "karat-demo-recruiter"  # noqa: S105 - public demo credential
DEMO_CANDIDACIES = 8
# Data has no integration in the demo: its roles exist so the group picker has two real choices.
DATA_ROLES = (("Data Scientist", "DATA-201"), ("Analytics Engineer", "DATA-202"))
# Engineering's roles, against the sandbox's 30 demo postings (by index): most match a posting
# automatically on the roles page — by requisition code, or by title where the role has no
# code — and a few are only similar to one, so the page offers them as suggestions.
ENGINEERING_ROLES_BY_CODE = (0, 1, 3, 5, 6, 7, 9, 12, 13, 15, 16, 18, 20, 28, 29)
ENGINEERING_ROLES_BY_TITLE = (
    (4, "Machine learning engineer"),
    (10, "Full-Stack Engineer"),
    (11, "Software Engineer in Test"),  # its requisition code is empty
    (14, "DevOps engineer"),
)
ENGINEERING_ROLES_SIMILAR = (
    "Senior Frontend Engineer",
    "Cloud Engineer",
    "Program Manager",
)


@dataclass
class SeedReport:
    created: list[str]
    integration_public_id: str = ""

    def add(self, what: str, created: bool) -> None:
        if created:
            self.created.append(what)


class Command(BaseCommand):
    help = (
        "Create the demo organization Acme Corp (groups, admin and recruiter, roles, a Lever "
        "integration on the local sandbox, linked candidacies). Safe to run again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--reset-passwords",
            action="store_true",
            help="set the demo users' passwords back to the printed ones",
        )
        parser.add_argument(
            "--register-webhooks",
            action="store_true",
            help="register the demo integration's three webhooks in the (running) Lever sandbox "
            "instead of seeding; `make run` does this once the sandbox answers",
        )
        parser.add_argument(
            "--candidacies",
            type=int,
            default=DEMO_CANDIDACIES,
            help="how many sandbox opportunities to link (first run only)",
        )

    def handle(
        self,
        *args: Any,
        reset_passwords: bool = False,
        candidacies: int = DEMO_CANDIDACIES,
        register_webhooks: bool = False,
        **options: Any,
    ) -> None:
        if register_webhooks:
            self.stdout.write(demo_webhooks_register())
            return
        report = seed_demo(reset_passwords=reset_passwords, candidacies=candidacies)
        if report.created:
            self.stdout.write(f"Demo data created: {', '.join(report.created)}.")
        else:
            self.stdout.write("Demo data already present; nothing created.")
        self.stdout.write(
            f"Demo organization “{ORGANIZATION}” — sign in at /accounts/login/ as\n"
            f"  admin:     {ADMIN_EMAIL} / {ADMIN_PASSWORD}\n"
            f"  recruiter: {RECRUITER_EMAIL} / {RECRUITER_PASSWORD}"
        )
        if report.integration_public_id:
            self.stdout.write(
                f"Lever integration for {ENGINEERING} (sandbox): {report.integration_public_id}"
            )


def _user(
    *,
    email: str,
    password: str,
    full_name: str,
    organization: Organization,
    role: str,
    reset_password: bool,
    report: SeedReport,
) -> User:
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create_user(email, password, full_name=full_name)
        report.add(email, True)
    elif reset_password:
        user.set_password(password)
        user.save(update_fields=["password"])
    _, created = Membership.objects.get_or_create(
        user=user, defaults={"organization": organization, "role": role}
    )
    report.add(f"{role} membership", created)
    return user


@transaction.atomic
def seed_demo(*, reset_passwords: bool = False, candidacies: int = DEMO_CANDIDACIES) -> SeedReport:
    """Create whatever of the demo is missing; never changes what exists (passwords included,
    unless `reset_passwords`)."""
    report = SeedReport(created=[])
    organization, created = Organization.objects.get_or_create(name=ORGANIZATION)
    report.add(f"organization {ORGANIZATION}", created)
    engineering, created = Group.objects.get_or_create(organization=organization, name=ENGINEERING)
    report.add(f"group {ENGINEERING}", created)
    data, created = Group.objects.get_or_create(organization=organization, name=DATA)
    report.add(f"group {DATA}", created)

    _user(
        email=ADMIN_EMAIL,
        password=ADMIN_PASSWORD,
        full_name="Ada Admin",
        organization=organization,
        role=Membership.Role.ADMIN,
        reset_password=reset_passwords,
        report=report,
    )
    _user(
        email=RECRUITER_EMAIL,
        password=RECRUITER_PASSWORD,
        full_name="Rae Recruiter",
        organization=organization,
        role=Membership.Role.RECRUITER,
        reset_password=reset_passwords,
        report=report,
    )

    for title, code in DATA_ROLES:
        _role(group=data, title=title, requisition_code=code, report=report)

    # What the seed creates is the system's doing, not the demo admin's: audit entries and
    # timeline events carry no actor (shown as "Karat, automatically").
    _engineering_roles(group=engineering, report=report)
    integration = _lever_integration(group=engineering, report=report)
    report.integration_public_id = str(integration.public_id)
    _linked_candidacies(integration=integration, count=candidacies, report=report)
    return report


def _role(*, group: Group, title: str, requisition_code: str, report: SeedReport) -> Any:
    from karatlever.hiring.models import Role
    from karatlever.hiring.services import role_create

    existing = Role.objects.filter(group=group, title=title, requisition_code=requisition_code)
    role = existing.first()
    if role is None:
        role = role_create(group=group, title=title, requisition_code=requisition_code)
        report.add(f"role {title}", True)
    return role


def _engineering_roles(*, group: Group, report: SeedReport) -> None:
    """Karat roles for the demo postings (see ENGINEERING_ROLES_*); the posting sync that runs
    once the demo key is checked maps them."""
    from integrations.lever.sandbox.demo import demo_data

    postings = demo_data().postings
    for index in ENGINEERING_ROLES_BY_CODE:
        posting = postings[index]
        _role(
            group=group,
            title=posting["text"],
            requisition_code=posting["reqCode"] or "",
            report=report,
        )
    for _, title in ENGINEERING_ROLES_BY_TITLE:
        _role(group=group, title=title, requisition_code="", report=report)
    for title in ENGINEERING_ROLES_SIMILAR:
        _role(group=group, title=title, requisition_code="", report=report)


def _lever_integration(*, group: Group, report: SeedReport) -> Any:
    """The Engineering group's Lever integration on the sandbox region, holding the demo key.

    Created through the same services as the console, so the key is encrypted, audited and
    checked against the sandbox by the worker (the check is enqueued on commit).
    """
    from integrations.connection.services import lifecycle
    from integrations.lever.sandbox.demo import DEMO_API_KEY
    from integrations.models import Ats, AtsIntegration, Region

    integration = AtsIntegration.objects.filter(group=group, ats=Ats.LEVER).first()
    if integration is not None:
        return integration
    integration = lifecycle.integration_create(group=group, ats=Ats.LEVER, actor=None)
    lifecycle.integration_settings_update(
        integration=integration,
        actor=None,
        api_key=DEMO_API_KEY,
        ats_user_id="",
        region=Region.SANDBOX,
    )
    report.add("Lever integration", True)
    return integration


def _linked_candidacies(*, integration: Any, count: int, report: SeedReport) -> None:
    """Candidacies linked to deterministic sandbox opportunities, so sandbox webhooks move them."""
    from integrations.lever.sandbox.demo import demo_data, demo_opportunity, demo_opportunity_ids
    from integrations.models import OpportunityLink
    from karatlever.hiring.models import Candidacy, CandidacyEvent
    from karatlever.hiring.services import AtsState, candidacy_ats_state_apply, candidacy_create

    data = demo_data()
    postings = {posting["id"]: posting for posting in data.postings}
    stage_names = {stage["id"]: stage["text"] for stage in data.stages}
    linked = set(
        OpportunityLink.objects.filter(integration=integration).values_list(
            "opportunity_id", flat=True
        )
    )
    if linked:
        # Linked before: the demo is in place (and may have been changed on purpose since).
        return
    created = 0
    for opportunity_id in demo_opportunity_ids(count):
        opportunity = demo_opportunity(opportunity_id)
        posting = postings[opportunity["_application"]["posting"]]
        role = _role(
            group=integration.group,
            title=posting["text"],
            requisition_code=posting["reqCode"] or "",
            report=report,
        )
        emails = opportunity["emails"]
        candidacy = candidacy_create(
            role=role,
            candidate_name=opportunity["name"] or "Unnamed candidate",
            candidate_email=emails[0] if emails else f"{opportunity_id[:8]}@candidates.example",
            actor=None,
            source=CandidacyEvent.Source.KARAT,
        )
        # As an invite records it: the roles page counts each posting's candidacies.
        Candidacy.objects.filter(pk=candidacy.pk).update(ats_posting_id=posting["id"])
        OpportunityLink.objects.create(
            integration=integration,
            candidacy=candidacy,
            opportunity_id=opportunity_id,
            contact_id=opportunity["contact"],
        )
        candidacy_ats_state_apply(
            candidacy=candidacy,
            state=AtsState(
                stage_id=opportunity["stage"],
                stage_name=stage_names.get(opportunity["stage"], ""),
                archived=False,
                version=opportunity["updatedAt"],
            ),
            origin={"seed": "seed_demo"},
        )
        created += 1
    report.add(f"{created} linked candidacies", created > 0)


def demo_webhooks_register() -> str:
    """Point the sandbox's three webhooks at this console (idempotent: kept when already there).

    Raises CommandError when the demo is missing or the sandbox refuses, so `make run` says why.
    """
    from django.core.management.base import CommandError

    from integrations.models import Ats, AtsIntegration
    from webhooks.services.setup import WebhookSetupError, webhooks_register

    integration = AtsIntegration.objects.filter(
        group__organization__name=ORGANIZATION, group__name=ENGINEERING, ats=Ats.LEVER
    ).first()
    if integration is None:
        raise CommandError("No demo integration: run `manage.py seed_demo` first.")
    try:
        # `make run` registers them, not a person: the audit entry has no actor.
        result = webhooks_register(integration=integration, actor=None)
    except WebhookSetupError as exc:
        raise CommandError(f"Webhook registration failed: {exc}") from exc
    parts = [
        f"{label}: {', '.join(events)}"
        for label, events in (
            ("created", result.created),
            ("repaired", result.repaired),
            ("kept", result.kept),
        )
        if events
    ]
    return f"Demo webhooks → {result.url} ({'; '.join(parts) or 'nothing to do'})."
