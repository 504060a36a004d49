"""Accounts: users (email login), organizations, groups and memberships."""
