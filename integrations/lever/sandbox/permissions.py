"""API-key permissions the sandbox knows, named after Lever's OAuth scopes
(integrations/lever/README.md §4.1)."""

from __future__ import annotations

# Lever's "Allow access to confidential data" toggle on a new key. Without it, a confidential
# opportunity or posting read by id is a 403 ("not authorized to access confidential data"),
# writes to it are refused the same way, and lists leave confidential records out even when
# asked for ``confidentiality=all`` (a list returns every record the key may read).
CONFIDENTIAL_ACCESS = "confidential:access:admin"

# Lever permissions API keys per endpoint; the names here are its OAuth scope names so the
# product can check "each permission it needs" by one stable name. A `…:write:admin`
# permission also grants the matching `…:read:admin` (documented sandbox choice).
PERMISSIONS: dict[str, str] = {
    "opportunities:read:admin": "Opportunities: read (GET /opportunities, /opportunities/:id)",
    "opportunities:write:admin": "Opportunities: write (stage, archived, tags, links)",
    "notes:read:admin": "Notes: read (GET /opportunities/:id/notes)",
    "notes:write:admin": "Notes: write (POST /opportunities/:id/notes)",
    "postings:read:admin": "Postings: read (GET /postings)",
    "stages:read:admin": "Stages: read (GET /stages)",
    "archive_reasons:read:admin": "Archive reasons: read (GET /archive_reasons)",
    "users:read:admin": "Users: read (GET /users)",
    "tags:read:admin": "Tags: read (GET /tags)",
    "webhooks:read:admin": "Webhooks: read (GET /webhooks)",
    "webhooks:write:admin": "Webhooks: write (POST/PUT/DELETE /webhooks)",
    "panels:read:admin": "Panels: read (GET /opportunities/:id/panels)",
    "panels:write:admin": "Panels: write (POST/PUT/DELETE /opportunities/:id/panels)",
    "feedback:read:admin": "Feedback: read (GET /opportunities/:id/feedback)",
    "feedback:write:admin": "Feedback: write (POST/PUT/DELETE /opportunities/:id/feedback)",
    "feedback_templates:read:admin": "Feedback templates: read (GET /feedback_templates)",
    "feedback_templates:write:admin": "Feedback templates: write (POST /feedback_templates)",
    CONFIDENTIAL_ACCESS: "Allow access to confidential data (confidential opportunities and "
    "postings; Lever only grants it when the key is created)",
}
ALL_PERMISSIONS: frozenset[str] = frozenset(PERMISSIONS)

# What the Karat integration asks for when a Super Admin flips the Karat tile on: Lever's
# Karat tile shows the permissions the key will get (Step 1 of the setup guide admins receive;
# integrations/lever/README.md §3.1). Lever doesn't publish that set; this is our reading of it
# (integrations/lever/README.md §4.1).
KARAT_PERMISSIONS: tuple[str, ...] = (
    "opportunities:write:admin",
    "notes:write:admin",
    "postings:read:admin",
    "stages:read:admin",
    "archive_reasons:read:admin",
    "users:read:admin",
    "tags:read:admin",
    "webhooks:write:admin",
    CONFIDENTIAL_ACCESS,
)


def expand(granted: frozenset[str] | set[str] | list[str] | tuple[str, ...]) -> frozenset[str]:
    """The effective permission set: every write permission implies its read."""
    effective = set(granted) & ALL_PERMISSIONS
    for name in list(effective):
        if ":write:" in name:
            effective.add(name.replace(":write:", ":read:"))
    return frozenset(effective & ALL_PERMISSIONS)
