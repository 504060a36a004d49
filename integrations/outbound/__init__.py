"""Post candidacy updates to Lever: each Karat milestone written back through an outbox."""
