"""Note templates and their rendering, the outbound settings row, status tags and scores."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, ClassVar

from django.template import Context, Engine, Template, TemplateSyntaxError
from django.template.base import FilterExpression, Lexer, TextNode, TokenType, VariableNode
from django.template.defaulttags import CommentNode, IfNode, TemplateLiteral

from integrations.models import AtsIntegration, OutboundSettings
from integrations.outbound import note_language
from karatlever.errors import ApplicationError
from karatlever.hiring.models import Candidacy, KaratStatus, Milestone, Recommendation
from karatlever.hiring.services import MILESTONE_RULES

# Lever's note score: 1 = strong no … 4 = strong yes (integrations/lever/README.md §7.2).
SCORES = {
    Recommendation.STRONG_YES: 4,
    Recommendation.YES: 3,
    Recommendation.NO: 2,
    Recommendation.STRONG_NO: 1,
}
TEMPLATE_MAX_LENGTH = 5000
# Blocks inside blocks ({% if %} in {% if %}): Django's parser and renderer recurse per level.
TEMPLATE_NESTING_MAX = 10
NOTE_MAX_LENGTH = 20_000
# Ends a note cut at NOTE_MAX_LENGTH (the cut text and the marker are NOTE_MAX_LENGTH together).
NOTE_CUT_MARKER = " … [cut: the note was too long]"

# The note templates' variables (also listed on the settings page).
NOTE_CONTEXT: dict[str, str] = {
    "candidate_name": "The candidate's name",
    "candidate_email": "The candidate's email",
    "role": "The Karat role's title",
    "milestone": "What happened (e.g. Interview scheduled)",
    "karat_status": "The Karat status after it (e.g. Scheduled)",
    "scheduled_at": "The interview time (UTC), when scheduled",
    "recommendation": "Karat's recommendation (results only)",
    "summary": "The results summary (results only)",
    "report_url": "The Karat report link (results only)",
}

DEFAULT_TEMPLATES: dict[str, str] = {
    Milestone.INVITED: "Karat invited {{ candidate_name }} to a technical interview for {{ role }}.",
    Milestone.SCHEDULED: (
        "{{ candidate_name }}'s Karat interview for {{ role }} is scheduled for {{ scheduled_at }}."
    ),
    Milestone.COMPLETED: (
        "{{ candidate_name }} completed the Karat interview for {{ role }}. Results will follow."
    ),
    Milestone.RESULTS_READY: (
        "Karat results for {{ candidate_name }} ({{ role }}): {{ recommendation }}."
        "{% if summary %}\n\n{{ summary }}{% endif %}"
        "{% if report_url %}\n\nReport: {{ report_url }}{% endif %}"
    ),
    Milestone.CANCELLED: "The Karat interview of {{ candidate_name }} for {{ role }} was cancelled.",
    Milestone.EXPIRED: (
        "The Karat invitation of {{ candidate_name }} for {{ role }} expired without an interview."
    ),
    Milestone.REDO: "Karat invited {{ candidate_name }} to take the interview for {{ role }} again.",
}

# The Save check's sample data: the Karat status after each milestone.
_SAMPLE_STATUS = {milestone: after for milestone, (_, after) in MILESTONE_RULES.items()}
# Names every Django Context holds besides ours.
_CONTEXT_BUILTINS = frozenset({"True", "False", "None"})
# The note language, as the settings page and the errors list it.
NOTE_TAGS = tuple("/".join((tag, *words)) for tag, words in note_language.TAGS.items())
NOTE_FILTERS = note_language.FILTERS


class _NoteEngine(Engine):
    # Engine adds Django's default tags and filters (include, url, for, now, load…) to any
    # ``builtins``; note templates get only the allow-list of note_language.
    default_builtins: ClassVar[list[str]] = []


# Plain text out (notes are plain text, integrations/lever/README.md §7.2), only note_language's tags and filters, no loaders (so
# nothing is read from disk), no libraries to {% load %}, and only NOTE_CONTEXT's strings in the
# context: a template can't reach a model, a setting, a URL or a file.
#
# Why a render's work is bounded: with no loop tag every node renders at most once, and there
# are fewer nodes than characters (TEMPLATE_MAX_LENGTH). Each node prints a value that is a
# context string (each cut to NOTE_MAX_LENGTH, _values_bounded) or a literal of the template,
# through filters whose work is linear in their input and which never lengthen it; an {% if %}
# compares or searches such strings. So the work is O(TEMPLATE_MAX_LENGTH * NOTE_MAX_LENGTH) at
# worst, and the text is then cut to NOTE_MAX_LENGTH.
_ENGINE = _NoteEngine(
    dirs=[],
    loaders=[],
    libraries={},
    builtins=[note_language.__name__],
    autoescape=False,
    string_if_invalid="",
)


class OutboundError(ApplicationError):
    """An outbound rule was broken; the message is safe to show. An ``ApplicationError``, so
    the API's handler and ``form_errors_from`` show it as they are."""

    default_code = "outbound"


# --- settings and notes -----------------------------------------------------------------------


def outbound_settings_get(*, integration: AtsIntegration) -> OutboundSettings:
    """The integration's outbound settings, created with the defaults on first use."""
    found, _ = OutboundSettings.objects.get_or_create(integration=integration)
    return found


def template_check(template: str, *, milestone: str | None = None) -> None:
    """Raise OutboundError (the reason, safe to show) unless ``template`` is a note template
    in the note language (note_language's tags and filters, NOTE_CONTEXT's variables, at most
    TEMPLATE_MAX_LENGTH characters) that renders against the sample data of ``milestone``
    (every milestone when None)."""
    compiled = _compile(template)
    for name in [milestone] if milestone else Milestone.values:
        _render(compiled, sample_context(milestone=name))
        _render(compiled, dict.fromkeys(NOTE_CONTEXT, ""))


def sample_context(*, milestone: str) -> dict[str, str]:
    """What a note of ``milestone`` could see (the Save check renders every template with it)."""
    detail: dict[str, Any] = {"to": _SAMPLE_STATUS.get(milestone, KaratStatus.INVITED)}
    if milestone == Milestone.SCHEDULED:
        detail["scheduled_at"] = "2026-12-01T15:00:00+00:00"
    if milestone == Milestone.RESULTS_READY:
        detail |= {
            "recommendation": Recommendation.YES,
            "summary": "Strong problem solving; communication could be clearer.",
            "report_url": "https://karat.example/reports/123",
        }
    return _note_strings(
        candidate_name="Ada Lovelace",
        candidate_email="ada@example.com",
        role="Backend Engineer",
        status=KaratStatus.INVITED,
        milestone=milestone,
        detail=detail,
    )


def _compile(template: str) -> Template:
    if len(template) > TEMPLATE_MAX_LENGTH:
        raise OutboundError(f"A template is at most {TEMPLATE_MAX_LENGTH} characters.")
    _tags_check(template)
    try:
        compiled = _ENGINE.from_string(template)
    except TemplateSyntaxError as exc:
        raise OutboundError(f"Template error: {exc}") from None
    except Exception as exc:  # any error of an admin's template is the template's fault
        raise OutboundError(f"Template error: {type(exc).__name__}: {exc}") from None
    for expression in _expressions(compiled.nodelist):
        _variables_check(expression)
    return compiled


def _tags_check(template: str) -> None:
    """Name the first tag outside the allow-list (clearer than the parser's "did you forget to
    register or load this tag?"; tags inside a {% comment %} block count too), and refuse
    blocks nested deeper than TEMPLATE_NESTING_MAX."""
    depth = 0
    for token in Lexer(template).tokenize():
        if token.token_type != TokenType.BLOCK:
            continue
        words = token.contents.split()
        name = words[0] if words else ""
        if name not in note_language.BLOCK_WORDS:
            raise OutboundError(
                f"Template error on line {token.lineno}: {{% {name} %}} is not allowed. "
                f"Tags: {', '.join(NOTE_TAGS)}."
            )
        if name in note_language.TAGS:
            depth += 1
        elif name.startswith("end"):
            depth -= 1  # an end without its start is the parser's error to report
        if depth > TEMPLATE_NESTING_MAX:
            raise OutboundError(
                f"Template error on line {token.lineno}: blocks nest at most "
                f"{TEMPLATE_NESTING_MAX} deep."
            )


def _expressions(nodes: Any) -> Iterator[FilterExpression]:
    """Every ``{{ … }}`` and ``{% if … %}`` expression of a compiled note template."""
    for node in nodes:
        if isinstance(node, VariableNode):
            yield node.filter_expression
        elif isinstance(node, IfNode):
            for condition, body in node.conditions_nodelists:
                yield from _condition_expressions(condition)
                yield from _expressions(body)
        elif not isinstance(node, TextNode | CommentNode):
            # note_language makes no other node: refuse rather than skip what isn't checked.
            raise OutboundError(f"Template error: {type(node).__name__} is not allowed.")


def _condition_expressions(condition: Any) -> Iterator[FilterExpression]:
    # An {% if %} condition is a tree of operators (``first``/``second``) over literals.
    if condition is None:  # {% else %}
        return
    if isinstance(condition, TemplateLiteral):
        if isinstance(condition.value, FilterExpression):
            yield condition.value
        return
    yield from _condition_expressions(getattr(condition, "first", None))
    yield from _condition_expressions(getattr(condition, "second", None))


def _variables_check(expression: FilterExpression) -> None:
    variables = [expression.var]
    variables += [arg for _, args in expression.filters for lookup, arg in args if lookup]
    for variable in variables:
        lookups = getattr(variable, "lookups", None)  # None: a literal ("text", 3)
        if not lookups:
            continue
        if lookups[0] not in NOTE_CONTEXT and lookups[0] not in _CONTEXT_BUILTINS:
            raise OutboundError(
                f"Template error: unknown variable {lookups[0]}; "
                f"available: {', '.join(NOTE_CONTEXT)}."
            )
        if len(lookups) > 1:
            raise OutboundError(
                f"Template error: {'.'.join(lookups)}: use the variable {lookups[0]} itself "
                "(no attribute lookups)."
            )


def _render(compiled: Template, context: dict[str, str]) -> str:
    try:
        text: str = compiled.render(Context(_values_bounded(context), autoescape=False))
    except Exception as exc:  # any error of an admin's template is the template's fault
        raise OutboundError(f"Template error: {type(exc).__name__}: {exc}") from None
    return text


def _values_bounded(context: dict[str, str]) -> dict[str, str]:
    return {name: str(context.get(name, ""))[:NOTE_MAX_LENGTH] for name in NOTE_CONTEXT}


def template_for(*, outbound: OutboundSettings, milestone: str) -> str:
    custom = (outbound.note_templates or {}).get(milestone, "")
    return custom if isinstance(custom, str) and custom.strip() else DEFAULT_TEMPLATES[milestone]


def note_context(*, candidacy: Candidacy, milestone: str, detail: dict[str, Any]) -> dict[str, str]:
    """The strings a note template sees (``NOTE_CONTEXT``); ``detail`` is the milestone
    event's detail (see hiring.services.candidacy_milestone_record)."""
    return _note_strings(
        candidate_name=candidacy.candidate_name,
        candidate_email=candidacy.candidate_email,
        role=candidacy.role.title,
        status=candidacy.karat_status,
        milestone=milestone,
        detail=detail,
    )


def _note_strings(
    *,
    candidate_name: str,
    candidate_email: str,
    role: str,
    status: str,
    milestone: str,
    detail: dict[str, Any],
) -> dict[str, str]:
    status = detail.get("to") or status
    recommendation = detail.get("recommendation", "")
    scheduled_at = detail.get("scheduled_at", "")
    if scheduled_at:
        try:
            when = datetime.fromisoformat(scheduled_at)
            scheduled_at = when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
        except ValueError:
            pass  # shown as given
    return {
        "candidate_name": candidate_name,
        "candidate_email": candidate_email,
        "role": role,
        "milestone": Milestone(milestone).label if milestone in Milestone.values else milestone,
        "karat_status": KaratStatus(status).label if status in KaratStatus.values else status,
        "scheduled_at": scheduled_at,
        "recommendation": (
            Recommendation(recommendation).label
            if recommendation in Recommendation.values
            else recommendation
        ),
        "summary": detail.get("summary", ""),
        "report_url": detail.get("report_url", ""),
    }


def note_render(*, template: str, context: dict[str, str]) -> str:
    """The note's text: ``template`` rendered as plain text, trimmed, at most NOTE_MAX_LENGTH
    characters (a longer one is cut and ends with NOTE_CUT_MARKER). Raises OutboundError (and
    nothing else) when the template is not in the note language or fails to render."""
    text = _render(_compile(template), context).strip()
    if len(text) > NOTE_MAX_LENGTH:
        text = text[: NOTE_MAX_LENGTH - len(NOTE_CUT_MARKER)] + NOTE_CUT_MARKER
    return text


def note_preview(
    *, integration: AtsIntegration, candidacy: Candidacy, milestone: str, template: str
) -> str:
    """What the note for ``milestone`` would say for this candidacy now (its current results,
    interview time), with ``template`` (blank = the default). Raises OutboundError."""
    if milestone not in Milestone.values:
        raise OutboundError("Pick a milestone.")
    if candidacy.group_id != integration.group_id:
        raise OutboundError("That candidacy belongs to another group.")
    detail = {
        "to": candidacy.karat_status,
        "recommendation": candidacy.recommendation,
        "summary": candidacy.results_summary,
        "report_url": candidacy.report_url,
        "scheduled_at": (
            candidacy.interview_scheduled_at.isoformat() if candidacy.interview_scheduled_at else ""
        ),
    }
    return note_render(
        template=template.strip() or DEFAULT_TEMPLATES[milestone],
        context=note_context(candidacy=candidacy, milestone=milestone, detail=detail),
    )


def status_tag(*, outbound: OutboundSettings, status: str) -> str:
    """``"<prefix>: <Karat status>"``, e.g. ``Karat: Scheduled``."""
    label = KaratStatus(status).label if status in KaratStatus.values else status
    prefix = outbound.tag_prefix.strip()
    return f"{prefix}: {label}" if prefix else label


def status_tags_all(*, outbound: OutboundSettings) -> list[str]:
    return [status_tag(outbound=outbound, status=s) for s in KaratStatus.values]
