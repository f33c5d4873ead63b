"""SMA Monitoring API: `settings` (SMA_*, the pace of its per-key bucket), `client` (OAuth2 client credentials, the
consent and Monitoring endpoints), `consent` (`run.py sma-consent`), `fleet` (plants and devices from the raw
lake), `logs` (how far back a day's logs reach), `resources` (the Dagster resource)."""
