"""Per-group ATS integrations (Lever first; shaped so more ATSs can be added)."""
