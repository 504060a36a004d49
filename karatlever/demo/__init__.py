"""Demo data for local runs: sits above every other app, so it may use all of them."""
