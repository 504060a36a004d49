"""Make a REST API token for a user and print it, once (only its hash is stored)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from karatlever.accounts import tokens
from karatlever.accounts.models import User
from karatlever.errors import ApplicationError


class Command(BaseCommand):
    help = (
        "Make a REST API token for the user with this email and print it. It is shown this once: "
        "the database keeps only its hash. Send it as `Authorization: Token <token>`."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email", help="the user's email")
        parser.add_argument("--name", default="", help="what the token is for")
        parser.add_argument(
            "--days",
            type=int,
            default=tokens.TOKEN_DAYS_DEFAULT,
            help=f"days until it expires (1-{tokens.TOKEN_DAYS_MAX}, "
            f"default {tokens.TOKEN_DAYS_DEFAULT})",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        email = options["email"].strip().lower()
        try:
            user = User.objects.get(email=email)
        except User.DoesNotExist:
            raise CommandError(f"No user with the email {email!r}.") from None
        if not user.is_active:
            raise CommandError(f"{email} is deactivated; a token for them would not work.")
        try:
            row, token = tokens.api_token_create(
                user=user, name=options["name"], days=options["days"]
            )
        except ApplicationError as error:
            raise CommandError(error.message) from None
        # The token alone on stdout (for `TOKEN=$(manage.py create_api_token …)`), the rest on
        # stderr.
        self.stdout.write(token)
        self.stderr.write(
            f"Token {row.token_key}… for {email}, expires {row.expiry:%Y-%m-%d %H:%M} UTC. "
            "Copy it now: it is not shown again."
        )
