"""Karat's own hiring domain: roles, candidacies and their timeline."""
