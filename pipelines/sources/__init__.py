"""One package per vendor: its settings, auth, client, envelope and fleet (`saj/`, and beside it each further
vendor). The vendor-neutral plumbing they share is `pipelines.core`."""
