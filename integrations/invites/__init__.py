"""Invite candidates using a Lever URL: the paste, its preview, the invite, the API."""
