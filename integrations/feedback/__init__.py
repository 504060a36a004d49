"""Results as a Lever feedback form (opt-in): template, forms, settings, health."""
