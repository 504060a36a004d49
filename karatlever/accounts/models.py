"""Users log in by email; each belongs to one Organization through a Membership."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.utils import timezone


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        if not email:
            raise ValueError("Users need an email address.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=200, blank=True)
    is_staff = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return self.email

    @property
    def display_name(self) -> str:
        return self.full_name or self.email


class Organization(models.Model):
    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Group(models.Model):
    """A Karat group: the unit an ATS integration is connected to."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="groups")
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="group_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """A user's place in one organization; a user belongs to exactly one organization."""

    class Role(models.TextChoices):
        ADMIN = "admin", "Admin"
        RECRUITER = "recruiter", "Recruiter"

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="membership")
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.RECRUITER)
    # Empty means every group of the organization.
    groups = models.ManyToManyField(Group, blank=True, related_name="limited_memberships")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["organization", "user"]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()}, {self.organization})"

    @property
    def is_admin(self) -> bool:
        return self.role == self.Role.ADMIN


class ApiToken(models.Model):
    """A REST API token, for django-rest-knox's ``TokenAuthentication`` (``KNOX_TOKEN_MODEL``).

    The token itself is shown once, when it is made (``accounts.tokens.api_token_create``); the
    database keeps its SHA-512 ``digest`` and its first characters (``token_key``: the prefix
    people tell their tokens apart by, and knox looks rows up by). The fields are knox's
    ``AbstractAuthToken``'s, but rows are named by a plain id: knox's own model makes the digest
    the primary key, which would put it in URLs and API answers. Like the other public objects,
    a token is named outside by its ``code``.
    """

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    digest = models.CharField(max_length=128, unique=True, editable=False)
    token_key = models.CharField(max_length=25, db_index=True, editable=False)
    # knox's authentication reads the user's other tokens through ``auth_token_set``.
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="auth_token_set")
    name = models.CharField(max_length=100, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    expiry = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.token_key}… ({self.user})"
