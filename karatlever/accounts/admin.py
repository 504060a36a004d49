"""Django admin for accounts."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.http import HttpRequest

from karatlever.accounts.models import ApiToken, Group, Membership, Organization, User


@admin.register(User)
class UserAdmin(BaseUserAdmin[User]):
    ordering = ["email"]
    list_display = ["email", "full_name", "is_staff", "is_active"]
    search_fields = ["email", "full_name"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("full_name",)}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)


class GroupInline(admin.TabularInline[Group, Organization]):
    model = Group
    extra = 0


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin[Organization]):
    list_display = ["name", "code", "created_at"]
    search_fields = ["name"]
    inlines = [GroupInline]


@admin.register(Group)
class GroupAdmin(admin.ModelAdmin[Group]):
    list_display = ["name", "organization", "code"]
    list_filter = ["organization"]
    search_fields = ["name"]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin[Membership]):
    list_display = ["user", "organization", "role"]
    list_filter = ["role", "organization"]
    filter_horizontal = ["groups"]
    autocomplete_fields = ["user"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin[ApiToken]):
    """Metadata only: the token was shown once to whoever made it, and its digest never leaves
    the database. Staff can revoke (delete) a token here; nobody can make one here."""

    list_display = ["prefix", "name", "user", "created", "expiry"]
    list_filter = ["created", "expiry"]
    search_fields = ["user__email", "name", "token_key"]
    fields = ["user", "name", "prefix", "created", "expiry"]
    readonly_fields = ["user", "prefix", "created", "expiry"]
    list_select_related = ["user"]

    @admin.display(description="prefix", ordering="token_key")
    def prefix(self, obj: ApiToken) -> str:
        return f"{obj.token_key}…"

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
