"""Automatic invites: candidates entering a chosen ATS stage are invited by Karat itself."""
