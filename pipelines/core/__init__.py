"""What every vendor shares: one named home for the plumbing.

- `settings`: the one module that reads the environment (`FLEET_*`, with the old `SAJ_*` names);
- `errors`: typed API errors and the redaction of secrets;
- `transport`: the HTTP client base (sessions, pacing, tokens, retries, fan-out, stats);
- `ratelimit`, `tokens`: per-endpoint pacing and shared access tokens, in memory, files (`postgres`: in Postgres),
  `stores`: which of them every vendor's client gets (FLEET_COORDINATION_URL);
- `lake`: the Parquet lake (raw, staging, conformed) on a folder or S3, `landing`: landing responses in it;
- `warehouse`: running the model SQL, on the DuckDB file or DuckLake (`ducklake`, extensions from `duckdb_ext`);
  `partitions`: the daily partitions, plant-local days and backfill policy;
- `resources`: the Dagster resources every vendor uses (lake, warehouse, the marts' pools).
"""
