"""The integration status page: snapshots, the roll-up, alerts."""
