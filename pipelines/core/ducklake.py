"""The DuckLake warehouse: a catalog in PostgreSQL, Parquet data on S3, many writers, analysts in plain DuckDB SQL.

Configured by the environment alone:

    FLEET_WAREHOUSE=ducklake:postgres:host=db.internal port=5432 dbname=fleet_catalog user=fleet
    FLEET_WAREHOUSE_DATA_PATH=s3://fleet-bucket/warehouse/
    PGPASSWORD=...                        (libpq's own variable, or ~/.pgpass: keep the password out of the DSN)
    AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, and AWS_ENDPOINT_URL for S3-compatible stores

`connect()` gives a DuckDB connection (extensions from their wheels, pipelines/core/duckdb_ext.py) whose default
catalog is the warehouse (`USE warehouse`): the model SQL's unqualified table names are its tables, and the
temporary inputs and macros stay in the connection, exactly as with the DuckDB file. What it guarantees:

- Secrets stay out of messages: DuckDB repeats a failing ATTACH's whole connection string, password included, so
  errors from here carry it with `password=***`; the S3 secret lives only in the connection's (temporary) secret.
- `init()` creates the catalog once. Workers attaching a new catalog at the same moment fail on each other's
  CREATE TABLE in Postgres, so a deployment runs `python -m pipelines.core.ducklake init` once before the workers
  start (a one-shot service in deploy/docker-compose.yaml), as it runs Dagster's own migrations.

What DuckLake 1.0 does with concurrent writers (tests/distributed/test_ducklake.py): a transaction that inserts
into a table another transaction deleted from since it began is aborted at COMMIT, whatever rows it touched, and
DuckLake's retries do not resolve it. The marts rewrite their days (DELETE + INSERT), so writes to one table are
serialised: a Dagster pool per warehouse table, limit 1 (deploy/dagster.postgres.yaml). Appends never conflict.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping

import duckdb

from pipelines.core import duckdb_ext

ALIAS = "warehouse"
_PASSWORD = re.compile(r"(password\s*=\s*)('[^']*'|\S+)", re.IGNORECASE)


class WarehouseConfigError(RuntimeError):
    """The environment does not describe a DuckLake warehouse."""


def redact(text: str) -> str:
    """`text` with every libpq `password=...` replaced by `password=***`."""
    return _PASSWORD.sub(r"\1***", text)


def quote(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def s3_secret_sql(env: Mapping[str, str] = os.environ, name: str = "fleet_s3") -> str:
    """CREATE SECRET for DuckDB's httpfs from the usual AWS variables (AWS_ENDPOINT_URL: an S3-compatible store,
    addressed path-style). Without keys it leaves the credential chain to DuckDB (instance roles, SSO, ...)."""
    if "AWS_ACCESS_KEY_ID" not in env:
        parts = "PROVIDER credential_chain"
    else:
        parts = f"KEY_ID {quote(env['AWS_ACCESS_KEY_ID'])}, SECRET {quote(env.get('AWS_SECRET_ACCESS_KEY', ''))}"
        if env.get("AWS_SESSION_TOKEN"):
            parts += f", SESSION_TOKEN {quote(env['AWS_SESSION_TOKEN'])}"
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
    if region:
        parts += f", REGION {quote(region)}"
    endpoint = env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL")
    if endpoint:
        scheme, _, host = endpoint.partition("://")
        if not host:
            raise WarehouseConfigError(f"AWS_ENDPOINT_URL must be a URL (http://host:port), not {endpoint!r}")
        use_ssl = "true" if scheme == "https" else "false"
        parts += f", ENDPOINT {quote(host.rstrip('/'))}, URL_STYLE 'path', USE_SSL {use_ssl}"
    return f"CREATE OR REPLACE TEMPORARY SECRET {name} (TYPE s3, {parts})"


def connect(env: Mapping[str, str] = os.environ) -> duckdb.DuckDBPyConnection:
    """A connection whose default catalog is the DuckLake warehouse the environment names."""
    target, data_path = env.get("FLEET_WAREHOUSE", ""), env.get("FLEET_WAREHOUSE_DATA_PATH", "")
    if not target.startswith("ducklake:"):
        raise WarehouseConfigError("FLEET_WAREHOUSE must name a DuckLake catalog (ducklake:postgres:<libpq DSN>)")
    if not data_path:
        raise WarehouseConfigError("FLEET_WAREHOUSE_DATA_PATH must say where the data files go (s3://bucket/prefix/)")
    conn = duckdb_ext.connect(extensions=duckdb_ext.DUCKLAKE)
    failure = None
    try:
        if data_path.startswith("s3://"):
            conn.execute(s3_secret_sql(env))
        conn.execute(f"ATTACH {quote(target)} AS {ALIAS} (DATA_PATH {quote(data_path)})")
        conn.execute(f"USE {ALIAS}")
    except duckdb.Error as error:
        failure = f"cannot open the DuckLake warehouse: {type(error).__name__}: {redact(str(error))}"
    if failure is not None:  # raised here, so the original (with the password) is not kept as __context__
        conn.close()
        raise WarehouseConfigError(failure)
    return conn


def init(env: Mapping[str, str] = os.environ) -> None:
    """Create the catalog (if new) by attaching it once."""
    connect(env).close()


if __name__ == "__main__":
    if sys.argv[1:] != ["init"]:
        sys.exit("usage: python -m pipelines.core.ducklake init")
    try:
        init()
    except WarehouseConfigError as error:
        sys.exit(str(error))
    print("DuckLake catalog ready")
