"""Secrets: the app secret and the access tokens never reach a log, the Dagster event log, asset metadata, an
exception, the raw Parquet files or the warehouse; TLS verification stays on for the real API."""

import json
import logging
import stat
from datetime import date

import dagster as dg
import duckdb
import pyarrow.parquet as pq
from dagster import serialize_value

from pipelines.sources.saj.client import SajClient
from pipelines.sources.saj.resources import SajApiResource
from pipelines.sources.saj.settings import DEFAULT_BASE_URL
from simulator import Faults
from tests.support import materialize, select

DAY = date(2025, 9, 1)


def _leaks(text: str, secrets: list[str]) -> list[str]:
    return [s[:6] + "…" for s in secrets if s in text]


def _event_log_text(instance, run_id) -> str:
    entries = instance.all_logs(run_id)
    assert entries
    return "\n".join(serialize_value(entry) for entry in entries)


def test_no_secret_or_token_leaks_anywhere_in_a_full_debug_run(make_simulator, tmp_path, caplog, capfd):
    caplog.set_level(logging.DEBUG)
    for name in ("urllib3", "urllib3.connectionpool", "requests", "pipelines", "dagster"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    # Tokens die after 2 s and 10 % of the answers are system errors: several tokens are issued, and
    # refreshes and retries are logged at debug level. (At 0.5 s a loaded machine let a fresh token die before
    # its first use, which the client rightly reports as another program taking the app's token.)
    server = make_simulator(plants=2, limits=False, faults=Faults(seed=2, token_ttl_s=2.0, code_10001_rate=0.1))
    instance = dg.DagsterInstance.ephemeral()
    result = materialize(server, tmp_path, DAY, instance=instance)
    assert result.success
    tokens = [json.loads(e["body"])["data"]["access_token"] for e in server.served() if e["endpoint"] == "access_token"]
    assert len(tokens) >= 2
    secrets = [server.fleet.app_secret, *tokens]
    assert "appSecret=" + server.fleet.app_secret not in caplog.text  # (urllib3 logs the token URL at debug)
    assert any("access_token" in r.getMessage() for r in caplog.records)  # the token calls were logged ...

    out, err = capfd.readouterr()
    places = {
        "python logs": caplog.text,
        "stdout/stderr": out + err,
        "dagster event log": _event_log_text(instance, result.run_id),  # messages, metadata, step outputs
        "run record": serialize_value(instance.get_run_by_id(result.run_id)),
    }
    materializations = result.get_asset_materialization_events()
    assert len(materializations) >= 20
    places["asset metadata"] = "\n".join(serialize_value(m.materialization.metadata) for m in materializations)
    for path in sorted((tmp_path / "lake").rglob("*.parquet")):
        places[f"parquet bytes {path.name}"] = path.read_bytes().decode("latin-1")
        places[f"parquet rows {path.parent.parent.name}/{path.parent.name}"] = json.dumps(
            pq.read_table(path).to_pylist(), default=str, ensure_ascii=False
        )
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as conn:
        tables = [t for (t,) in conn.execute("SELECT table_name FROM information_schema.tables").fetchall()]
        assert len(tables) >= 10
        for table in tables:
            places[f"warehouse {table}"] = conn.execute(f'SELECT * FROM "{table}"').df().to_csv()
    leaks = {where: _leaks(text, secrets) for where, text in places.items() if _leaks(text, secrets)}
    assert not leaks, leaks

    # The token cache is the one place a token lives: beside the lake, readable by its owner only.
    (cache,) = (tmp_path / ".cache" / "saj" / "tokens").glob("token-*.json")
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600 and stat.S_IMODE(cache.parent.stat().st_mode) == 0o700


def test_exceptions_of_a_refused_secret_do_not_show_it(make_simulator, tmp_path):
    server = make_simulator(plants=2, limits=False)
    wrong = "RECOGNISABLE-WRONG-SECRET-42"
    instance = dg.DagsterInstance.ephemeral()
    result = materialize(
        server,
        tmp_path,
        DAY,
        assets=select({"saj/raw_plants"}),
        app_secret=wrong,
        raise_on_error=False,
        instance=instance,
    )
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    error = failure.event_specific_data.error
    assert "100009" in str(error)
    text = serialize_value(error) + _event_log_text(instance, result.run_id)
    assert wrong not in text
    # the exception object itself, as a caller would print or pickle it
    client = SajClient(server.fleet.app_id, wrong, server.base_url, tmp_path / "c", rate_limit=False)
    try:
        client.plant_page()
    except Exception as exc:  # noqa: BLE001
        import pickle

        assert wrong not in str(exc) + repr(exc) + repr(exc.__dict__) + str(pickle.loads(pickle.dumps(exc)))
    else:
        raise AssertionError("a wrong secret was accepted")


def test_tls_verification_is_on_for_the_real_api(tmp_path):
    assert DEFAULT_BASE_URL.startswith("https://")
    client = SajClient("app", "secret-value", DEFAULT_BASE_URL, tmp_path)
    assert client.verify_tls is True and client._session().verify is True
    resource = SajApiResource(app_id="app", app_secret="secret-value", cache_dir=str(tmp_path))
    assert resource.client().base_url == DEFAULT_BASE_URL and resource.client()._session().verify is True
    assert "secret-value" not in repr(client) + repr(resource.client()) + repr(client.tokens)
