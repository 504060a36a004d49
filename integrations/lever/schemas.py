"""Typed views of Lever's JSON: ignore unknown fields, tolerate nulls, timestamps as int ms."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import (
    AliasChoices,
    AliasPath,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)
from pydantic.alias_generators import to_camel


def _none_to_list(value: Any) -> Any:
    return [] if value is None else value


def _none_to_str(value: Any) -> Any:
    return "" if value is None else value


def _id_of(value: Any) -> Any:
    # Expanded references ({"id": ..., ...}) and plain ids both become the id.
    if isinstance(value, dict):
        value = value.get("id")
    # A malformed expansion (a number, a list) is no reference: dropped, so one odd user field
    # never makes the whole record unreadable (README §17.3).
    return value if value is None or isinstance(value, str) else None


def _true_only(value: Any) -> bool:
    return value is True


def _int_or_none(value: Any) -> Any:
    # A timestamp Lever may omit or send oddly: anything but a plain int is "not given".
    return value if isinstance(value, int) and not isinstance(value, bool) else None


# A list Lever may send as null; a reference Lever may send as an id or an expanded object.
NullableList = Annotated[list[str], BeforeValidator(_none_to_list)]
NullableStr = Annotated[str, BeforeValidator(_none_to_str)]
Ref = Annotated[str | None, BeforeValidator(_id_of)]


class LeverModel(BaseModel):
    """Base: camelCase aliases, unknown fields ignored, models immutable."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True
    )

    # Lever keys a model reads that are not field aliases (legacy shapes folded in validators);
    # the OpenAPI check (tests/integrations/lever/test_openapi.py) counts them with the aliases.
    extra_lever_keys: ClassVar[tuple[str, ...]] = ()


class Archived(LeverModel):
    reason: str | None = None
    archived_at: int | None = None


class Application(LeverModel):
    """An application id, or the expanded object (``expand=applications``) with its posting."""

    id: str
    posting: Ref = None
    type: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_id(cls, data: Any) -> Any:
        return {"id": data} if isinstance(data, str) else data


class StageChange(LeverModel):
    """One entry of an opportunity's stage history (``stageChanges``)."""

    to_stage_id: str | None = None
    updated_at: int | None = None


def _dicts_only(value: Any) -> Any:
    # A history entry that isn't an object is dropped, not a reason to refuse the opportunity.
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


class OpportunityUrls(LeverModel):
    list: str | None = None
    show: str | None = None


class Opportunity(LeverModel):
    id: str
    name: NullableStr = ""
    headline: str | None = None
    contact: Ref = None
    emails: NullableList = Field(default_factory=list)
    links: NullableList = Field(default_factory=list)
    # `stage` is an id (UUID or a slug like "applicant-new"), or {id, text} when expanded.
    stage_id: str | None = Field(
        default=None, validation_alias=AliasChoices(AliasPath("stage", "id"), "stage")
    )
    stage_name: str | None = Field(default=None, validation_alias=AliasPath("stage", "text"))
    archived: Archived | None = None
    applications: Annotated[list[Application], BeforeValidator(_none_to_list)] = Field(
        default_factory=list
    )
    tags: NullableList = Field(default_factory=list)
    sources: NullableList = Field(default_factory=list)
    origin: str | None = None
    owner: Ref = None
    confidentiality: str | None = None
    urls: OpportunityUrls | None = None
    created_at: int | None = None
    updated_at: int | None = None
    last_advanced_at: int | None = None
    stage_changes: Annotated[list[StageChange], BeforeValidator(_dicts_only)] = Field(
        default_factory=list
    )
    # ``owner`` as sent (a user object with ``expand=owner``), read by hiring_team.py (§17.2).
    owner_raw: Any = Field(default=None, validation_alias="owner", repr=False)
    # Personal data erased in Lever (integrations/lever/README.md §19.3); a non-bool is False.
    is_anonymized: Annotated[bool, BeforeValidator(_true_only)] = False
    # Only on deleted opportunities (README.md §19.2).
    deleted_at: Annotated[int | None, BeforeValidator(_int_or_none)] = None

    extra_lever_keys = ("archivedAt", "archiveReason")

    @model_validator(mode="before")
    @classmethod
    def _legacy_archive_fields(cls, data: Any) -> Any:
        # Older responses carry top-level archivedAt/archiveReason instead of `archived`.
        if isinstance(data, dict) and "archived" not in data:
            archived_at, reason = data.get("archivedAt"), data.get("archiveReason")
            if archived_at is not None or reason is not None:
                data = {**data, "archived": {"archivedAt": archived_at, "reason": reason}}
        return data

    @property
    def stage_entered_at_ms(self) -> int | None:
        """When it last entered its current stage: the latest stage change to it, else
        ``lastAdvancedAt``; None when Lever says neither."""
        entered = [
            c.updated_at
            for c in self.stage_changes
            if c.to_stage_id and c.to_stage_id == self.stage_id and c.updated_at is not None
        ]
        return max(entered) if entered else self.last_advanced_at

    @property
    def posting_id(self) -> str | None:
        """The posting of the (at most one) application, when applications were expanded."""
        return next((a.posting for a in self.applications if a.posting), None)


class PostingCategories(LeverModel):
    team: str | None = None
    department: str | None = None
    location: str | None = None
    commitment: str | None = None
    level: str | None = None
    all_locations: NullableList = Field(default_factory=list)


class PostingUrls(LeverModel):
    list: str | None = None
    show: str | None = None
    apply: str | None = None


class Posting(LeverModel):
    id: str
    text: NullableStr = ""
    state: str | None = None
    confidentiality: str | None = None
    distribution_channels: NullableList = Field(default_factory=list)
    requisition_codes: NullableList = Field(default_factory=list)
    # Deprecated single code; still read so old postings match by requisition code.
    req_code: str | None = None
    categories: PostingCategories = Field(default_factory=PostingCategories)
    tags: NullableList = Field(default_factory=list)
    owner: Ref = None
    hiring_manager: Ref = None
    urls: PostingUrls | None = None
    created_at: int | None = None
    updated_at: int | None = None

    @model_validator(mode="before")
    @classmethod
    def _null_categories(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("categories") is None:
            data = {**data, "categories": {}}
        return data

    @property
    def all_requisition_codes(self) -> list[str]:
        codes = list(self.requisition_codes)
        if self.req_code and self.req_code not in codes:
            codes.append(self.req_code)
        return codes


class Stage(LeverModel):
    id: str
    text: NullableStr = ""


class ArchiveReason(LeverModel):
    id: str
    text: NullableStr = ""
    status: str | None = None
    type: str | None = None

    @property
    def is_hired(self) -> bool:
        return self.type == "hired"


class User(LeverModel):
    id: str
    name: NullableStr = ""
    email: str | None = None
    access_role: str | None = None
    deactivated_at: int | None = None

    @property
    def is_active(self) -> bool:
        return self.deactivated_at is None


class Note(LeverModel):
    # Lever documents {"noteId"}; real responses are the whole note plus noteId. Prefer noteId.
    id: str = Field(validation_alias=AliasChoices("noteId", "id"))
    text: str | None = None
    value: str | None = Field(default=None, validation_alias=AliasPath("fields", 0, "value"))
    user: Ref = None
    secret: bool | None = None
    score: int | None = Field(default=None, validation_alias=AliasPath("fields", 0, "score"))
    created_at: int | None = None


class Webhook(LeverModel):
    id: str
    event: str | None = None
    url: str | None = None
    origins: NullableList = Field(
        default_factory=list, validation_alias=AliasPath("configuration", "conditions", "origins")
    )
    # Only the create response carries it; repr=False keeps it out of logs and tracebacks.
    signature_token: str | None = Field(
        default=None,
        repr=False,
        validation_alias=AliasPath("configuration", "signatureToken"),
    )
    created_at: int | None = None
    updated_at: int | None = None


# --- panels (integrations/lever/README.md §16) -------------------------------------------------


class PanelInterview(LeverModel):
    id: str | None = None
    subject: NullableStr = ""
    note: NullableStr = ""
    date: int | None = None
    duration: int | None = None


class Panel(LeverModel):
    """A panel of interviews on an opportunity. Only ``externallyManaged`` panels (made through
    the API) may be changed or deleted through it (README §16)."""

    id: str
    externally_managed: bool = False
    start: int | None = None
    end: int | None = None
    timezone: NullableStr = ""
    note: NullableStr = ""
    external_url: NullableStr = ""
    interviews: Annotated[list[PanelInterview], BeforeValidator(_none_to_list)] = Field(
        default_factory=list
    )


# --- the hiring team (integrations/lever/README.md §17) ---------------------------------------


class PostingTeam(LeverModel):
    """A posting's ``owner``, ``hiringManager`` and ``followers`` as Lever sent them with
    ``expand`` (user objects; ids when the expansion did not happen; anything at all when it
    is malformed). Kept raw on purpose: ``integrations/lever/hiring_team.py`` decides what is
    usable, so a bad team never makes the posting itself unreadable."""

    owner: Any = None
    hiring_manager: Any = None
    followers: Any = None


# --- feedback templates and forms (integrations/lever/README.md §18) ---------------------------


def _option_texts(value: Any) -> Any:
    # Lever documents score-system options as texts ("4 - Strong Hire"); objects {text} are
    # taken too (UNCONFIRMED shape, integrations/lever/README.md §18.2).
    if value is None:
        return []
    if not isinstance(value, list):
        return value
    return [item.get("text") if isinstance(item, dict) else item for item in value]


class FeedbackTemplateField(LeverModel):
    id: str
    type: NullableStr = ""
    text: NullableStr = ""
    options: Annotated[list[str], BeforeValidator(_option_texts)] = Field(default_factory=list)


class FeedbackTemplate(LeverModel):
    id: str
    text: NullableStr = ""
    instructions: NullableStr = ""
    fields: list[FeedbackTemplateField] = Field(default_factory=list)


class FeedbackFieldValue(LeverModel):
    id: str | None = None
    value: Any = None


class FeedbackForm(LeverModel):
    id: str
    base_template_id: str | None = None
    fields: list[FeedbackFieldValue] = Field(default_factory=list)
    deleted_at: int | None = None


class DeletedOpportunityItem(LeverModel):
    """One item of ``GET /opportunities/deleted`` (integrations/lever/README.md §19.2): only
    the id is relied on; ``deletedAt`` (ms) when Lever gives it."""

    id: str
    deleted_at: Annotated[int | None, BeforeValidator(_int_or_none)] = None
