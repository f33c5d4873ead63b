"""The SolaX token never reaches a log, the Dagster event log, metadata, an exception, the resource configuration
the UI shows, the lake, the shared cache or the warehouse — not even when SolaX echoes it in its lock-out answer."""

from __future__ import annotations

import json
import logging

import dagster as dg
import duckdb
import pyarrow.parquet as pq
from dagster import serialize_value

from pipelines.core.partitions import daily_partitions
from pipelines.resources import build_resources
from pipelines.sources.solax import jobs
from pipelines.sources.solax.resources import SolaxApiResource
from tests.sources.solax.walk import sites_csv
from tests.support import ALL_ASSETS


def test_no_token_anywhere_in_a_debug_run_with_a_lockout(make_solax, tmp_path, caplog, capfd, monkeypatch):
    caplog.set_level(logging.DEBUG)
    for name in ("urllib3", "urllib3.connectionpool", "requests", "pipelines", "dagster"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    server = make_solax(now=None)  # the real clock: the job's rounds and the stand-in's uploads agree
    token = server.token
    (tmp_path / "sites.csv").write_text(sites_csv(server))
    monkeypatch.setenv("SOLAX_TOKEN_ID", token)  # as a deployment sets it: read when the client is created
    resources = build_resources(
        tmp_path,
        solax={"base_url": server.base_url, "sites_file": str(tmp_path / "sites.csv"), "calls_per_minute": 6000},
    )
    assert "token_id" not in json.dumps(resources["solax"].model_dump(exclude_none=True))  # the UI's config
    instance = dg.DagsterInstance.ephemeral()
    first = jobs.solax_poll.execute_in_process(resources=resources, instance=instance)
    server.configure(per_minute=1, violations=1)  # the next call locks the token out: SolaX echoes the token
    locked = jobs.solax_poll.execute_in_process(resources=resources, instance=instance, raise_on_error=False)
    assert not locked.success
    bodies = [json.loads(e["body"]) for e in server.served()]
    assert any(b.get("tokenId") == token for b in bodies), "the stand-in did echo the token"
    days = sorted({m.partition for m in first.asset_materializations_for_node("solax_poll_round")})
    keys = daily_partitions.get_partition_keys()
    built = dg.materialize(
        ALL_ASSETS, partition_key=next(k for k in days if k in keys), resources=resources, instance=instance
    )
    assert built.success

    out, err = capfd.readouterr()
    places = {"python logs": caplog.text, "stdout/stderr": out + err}
    for result in (first, locked, built):
        places[f"event log {result.run_id}"] = "\n".join(serialize_value(e) for e in instance.all_logs(result.run_id))
        places[f"run {result.run_id}"] = serialize_value(instance.get_run_by_id(result.run_id))
    failure = next(e for e in locked.all_events if e.event_type_value == "STEP_FAILURE")
    places["the failure"] = str(failure.event_specific_data.error)
    assert "locked the token out" in places["the failure"]
    for path in sorted(tmp_path.rglob("*")):
        if path.is_file() and path.name != "sites.csv":
            places[f"bytes of {path.relative_to(tmp_path)}"] = path.read_bytes().decode("latin-1")
        if path.suffix == ".parquet":
            places[f"rows of {path.relative_to(tmp_path)}"] = json.dumps(pq.read_table(path).to_pylist(), default=str)
    assert any("raw_realtime" in p and '\\"tokenId\\":\\"***\\"' in text for p, text in places.items())
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as conn:
        for (table,) in conn.execute("SELECT table_name FROM information_schema.tables").fetchall():
            places[f"warehouse {table}"] = conn.execute(f'SELECT * FROM "{table}"').df().to_csv()
    assert len(places) > 30
    leaks = [where for where, text in places.items() if token in text]
    assert not leaks, leaks


def test_a_resource_and_a_client_never_show_the_token():
    resource = SolaxApiResource(cache_dir="/tmp/x", token_id="20250101000000999999999")
    client = resource.client()
    assert "20250101000000999999999" not in repr(resource.settings()) + repr(client) + str(client.namespace)
