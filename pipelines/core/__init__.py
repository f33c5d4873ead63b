"""What every vendor shares: one named home for the plumbing.

- `settings`: the one module that reads the environment (`FLEET_*`, with the old `SAJ_*` names);
- `errors`: typed API errors and the redaction of secrets;
- `transport`: the HTTP client base (sessions, pacing, tokens, retries, fan-out, stats);
- `ratelimit`, `tokens`: per-endpoint pacing and shared access tokens, in memory, files or Postgres;
- `lake`: the Parquet lake (raw, staging, conformed), `landing`: landing responses in it;
- `warehouse`: running the model SQL; `partitions`: the daily partitions and plant-local days;
- `resources`: the Dagster resources every vendor uses.
"""
