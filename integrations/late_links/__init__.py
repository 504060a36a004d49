"""Attach a Lever link to an existing candidacy (and detach it): issue #21 §4."""
