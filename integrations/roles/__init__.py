"""Ensure Lever roles match Karat roles: sync the ATS's postings and map each to a Karat role."""
