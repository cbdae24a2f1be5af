"""Officer review: the web UI, its HTTP API, and the decision rules they enforce."""
