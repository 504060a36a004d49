"""Lever candidate URLs (integrations/lever/README.md §11), parsed and built through ``links``."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings

from integrations.ats import CandidateLinks, CandidateRef, CandidateUrlError
from integrations.lever import links
from integrations.lever.base import LeverBase


class LeverCandidateLinks(LeverBase, CandidateLinks):
    """Candidate pages on each region's ``hire`` host."""

    def candidate_url_parse(self, raw: str, *, region: str | None = None) -> CandidateRef:
        try:
            parsed = links.parse_candidate_url(
                raw, expected_region=region, sandbox_site=settings.LEVER_SANDBOX_SITE_URL
            )
        except links.LeverUrlError as exc:
            raise CandidateUrlError(exc.code, exc.message) from None
        return CandidateRef(
            opportunity_id=parsed.opportunity_id,
            region=str(parsed.region),
            url=links.candidate_url(parsed.region, parsed.opportunity_id),
        )

    def candidate_url(self, region: str, opportunity_id: str) -> str:
        return links.candidate_url(region, opportunity_id)

    def candidate_profile_url(self, region: str, opportunity_id: str) -> str:
        url = links.candidate_url(region, opportunity_id)
        site: str = settings.LEVER_SANDBOX_SITE_URL
        # hire.sandbox.lever.co doesn't resolve for a local sandbox, which serves the same
        # /candidates/<id> page at its own address. Production regions never move.
        if links.Region(region) is links.Region.SANDBOX and site:
            return site.rstrip("/") + urlsplit(url).path
        return url
