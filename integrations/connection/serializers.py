"""REST API serializers for integrations: the API key is write-only, output shows last 4 only."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from integrations.connection import selectors
from integrations.connection.services import lifecycle
from integrations.models import Ats, AtsIntegration, Region


def _rule(rule: Any, value: Any) -> Any:
    try:
        return rule(value)
    except DjangoValidationError as exc:
        raise serializers.ValidationError(exc.messages) from None


class GroupRefSerializer(serializers.Serializer[Any]):
    code = serializers.UUIDField(read_only=True)
    name = serializers.CharField(read_only=True)


class KeyCheckSerializer(serializers.Serializer[Any]):
    code = serializers.CharField()
    name = serializers.CharField()
    ok = serializers.BooleanField(allow_null=True, help_text="null: not checked")
    message = serializers.CharField()


class IntegrationOutputSerializer(serializers.ModelSerializer[AtsIntegration]):
    id = serializers.UUIDField(source="public_id", read_only=True, help_text="Integration ID")
    group = GroupRefSerializer(read_only=True)
    api_key_set = serializers.BooleanField(source="has_api_key", read_only=True)
    key_checks = serializers.SerializerMethodField()
    # The API's name since it began; the model's is ATS-neutral.
    lever_user_id = serializers.CharField(
        source="ats_user_id", read_only=True, help_text="The Lever user id writes are made as."
    )

    class Meta:
        model = AtsIntegration
        fields = [
            "id",
            "group",
            "ats",
            "enabled",
            "region",
            "api_key_set",
            "api_key_last4",
            "pending_api_key_last4",
            "lever_user_id",
            "key_status",
            "key_checked_at",
            "key_checks",
            "last_success_at",
            "last_error",
            "last_error_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(KeyCheckSerializer(many=True))
    def get_key_checks(self, obj: AtsIntegration) -> list[dict[str, Any]]:
        """One line per check of the key in use's latest finished check ([] before one)."""
        latest = self.context.get("key_checks")
        if latest is None:  # a caller that did not fetch them in bulk
            latest = selectors.key_check_latest_finished(integrations=[obj])
        row = latest.get(obj.pk)
        return list(KeyCheckSerializer(row.checks if row else [], many=True).data)


class _SettingsInputSerializer(serializers.Serializer[Any]):
    api_key = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        allow_null=True,
        trim_whitespace=False,
        help_text="Write-only. Blank or absent keeps the current key.",
    )
    # The API's name since it began; the model's is ATS-neutral (validated data: ats_user_id).
    lever_user_id = serializers.CharField(
        source="ats_user_id",
        required=False,
        allow_blank=True,
        help_text="Optional Lever user id (UUID).",
    )
    # The same choices as the output's model field (one "Region" enum in the OpenAPI schema).
    region = serializers.ChoiceField(choices=Region.choices, required=False)

    def validate_api_key(self, value: str | None) -> str | None:
        key: str | None = _rule(lifecycle.api_key_normalize, value)
        return key

    def validate_lever_user_id(self, value: str) -> str:
        user_id: str = _rule(lifecycle.ats_user_id_normalize, value)
        return user_id


class IntegrationCreateInputSerializer(_SettingsInputSerializer):
    group = serializers.UUIDField(help_text="The group's code.")
    ats = serializers.ChoiceField(choices=Ats.choices)

    def validate_group(self, value: Any) -> Any:
        group = self.context["groups"].filter(code=value).first()
        if group is None:
            raise serializers.ValidationError("No group with this code in your organization.")
        return group


class IntegrationUpdateInputSerializer(_SettingsInputSerializer):
    enabled = serializers.BooleanField(required=False)
