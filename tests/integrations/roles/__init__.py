"""Tests of role matching (integrations/roles/)."""
