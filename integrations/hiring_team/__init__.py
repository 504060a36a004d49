"""Hiring team from the ATS: role followers and candidacy recruiters (issue #21 §2, §3)."""
