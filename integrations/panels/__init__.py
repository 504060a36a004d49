"""The Karat interview on Lever's schedule: a booked interview becomes a panel (opt-in)."""
