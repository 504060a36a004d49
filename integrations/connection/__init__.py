"""Connecting a group to its ATS: create, settings, key checks, region, enable, delete, audit."""
