"""The client against the simulator over real HTTP: faults, limits, tokens, processes.

Each test starts its own SimulatorServer (fresh tokens, windows and counters) on a shared small fleet.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap
import time
from datetime import date, datetime, timezone
from pathlib import Path

import pytest

from pipelines.core.errors import ApiCredentialsError, ApiPermissionError
from pipelines.sources.saj.client import SajClient
from simulator import Faults, Fleet, SimulatorServer

ROOT = Path(__file__).resolve().parents[3]
DAY = "2025-01-05"


@pytest.fixture(scope="module")
def fleet():
    # a frozen clock, as in conftest's fleets (the data asked for is long in the past anyway)
    return Fleet(seed=7, plants=6, start_date=date(2025, 1, 1), now=datetime(2025, 11, 3, 12, tzinfo=timezone.utc))


@pytest.fixture(scope="module")
def _server(fleet):
    server = SimulatorServer(fleet, port=0)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def sim(_server):
    """The module's server with no faults, fresh counters and rate windows."""
    _server.set_faults(Faults())
    _server.reset_stats()
    yield _server
    _server.set_faults(Faults())


def make_client(server, tmp_path, **kw) -> SajClient:
    kw.setdefault("backoff_base_s", 0.05)
    kw.setdefault("backoff_max_s", 0.5)
    return SajClient(server.fleet.app_id, server.fleet.app_secret, server.base_url, tmp_path / "cache", **kw)


def day_upload(c: SajClient, sn: str, unit: int = 1):
    (r,) = c.upload_data(sn, f"{DAY} 00:00:00", f"{DAY} 23:59:59", unit)
    return r


def items(fleet, n):
    sns = [d.sn for d in fleet.devices]
    return [sns[i % len(sns)] for i in range(n)]


def total(d: dict) -> int:
    return sum(d.values())


# --- throughput under the documented limits -----------------------------------------------------


@pytest.mark.parametrize("endpoint,n", [("device/uploadData", 160), ("plant/details", 17)])
def test_a_sustained_pace_is_not_rejected(sim, fleet, tmp_path, endpoint, n):
    c = make_client(sim, tmp_path)
    if endpoint == "device/uploadData":
        sns = items(fleet, n)
        fn = lambda i: day_upload(c, sns[i])  # noqa: E731
    else:
        fn = lambda i: c.plant_details(fleet.plants[i % len(fleet.plants)].plant_id)  # noqa: E731
    c.tokens.get()
    out = c.fan_out(fn, range(n), max_workers=16)
    assert all(not isinstance(r, BaseException) and r.ok for _, r in out)
    st = sim.stats()
    requests, rejected = st["requests"][endpoint], st["rejected_rate"].get(endpoint, 0)
    # The server's own window is the judge of the pace (how close it comes to the limit is measured in
    # benchmarks/bench_ingestion.py: a loaded machine only slows a run down, and bunches the answers).
    assert requests >= n and rejected <= 0.01 * requests
    assert c.stats["failures"] == 0


def test_burst_over_limit_backs_off_and_all_succeed(sim, fleet, tmp_path):
    c = make_client(sim, tmp_path, rate_limit=False)  # no pacing: hammer a 50 QPS endpoint
    sns = items(fleet, 120)
    out = c.fan_out(lambda sn: day_upload(c, sn), sns, max_workers=32)
    assert all(not isinstance(r, BaseException) and r.ok for _, r in out), [
        r for _, r in out if isinstance(r, BaseException)
    ][:3]
    st = sim.stats()
    assert st["rejected_rate"]["device/uploadData"] > 0  # the burst did trip the server
    assert c.stats["rate_rejections"] == st["rejected_rate"]["device/uploadData"]
    assert c.stats["failures"] == 0 and len(out) == 120


def test_client_scaled_over_limit_recovers(sim, fleet, tmp_path):
    c = make_client(sim, tmp_path, qps_scale=2.0)  # pacing at twice the real limit
    sns = items(fleet, 100)
    out = c.fan_out(lambda sn: day_upload(c, sn), sns)
    assert all(not isinstance(r, BaseException) and r.ok for _, r in out)
    st = sim.stats()
    # adaptive slow-down keeps the rejections well below the ~50 % a blind 2x pace would cause
    assert st["rejected_rate"].get("device/uploadData", 0) < 0.5 * st["requests"]["device/uploadData"]


# --- transient faults ---------------------------------------------------------------------------


def test_5xx_and_10001_at_20pct_every_call_succeeds(sim, fleet, tmp_path):
    sim.set_faults(Faults(seed=3, http_5xx_rate=0.2, code_10001_rate=0.2))
    c = make_client(sim, tmp_path, max_attempts=12)
    sns = items(fleet, 80)
    out = c.fan_out(lambda sn: day_upload(c, sn), sns)
    assert [sn for sn, _ in out] == sns
    assert all(not isinstance(r, BaseException) and r.ok for _, r in out)
    st = sim.stats()
    injected = st["http_errors"].get("device/uploadData", 0) + st["codes"]["device/uploadData"].get(10001, 0)
    assert injected > 20
    assert c.stats["retries"] >= injected and c.stats["failures"] == 0
    assert max(r.attempts for _, r in out) > 1


def test_truncated_bodies_retried(sim, fleet, tmp_path):
    sim.set_faults(Faults(seed=5, truncate_rate=0.3))
    c = make_client(sim, tmp_path, max_attempts=12)
    sns = items(fleet, 60)
    out = c.fan_out(lambda sn: day_upload(c, sn, unit=0), sns)
    assert all(not isinstance(r, BaseException) and r.ok for _, r in out)
    assert sim.stats()["truncated"].get("device/uploadData", 0) > 5
    for _, r in out:
        assert json.loads(r.body_text) == r.payload and r.payload["data"]["data"]


def test_exhausted_retries_raise_transient_with_last_response(sim, fleet, tmp_path):
    c = make_client(sim, tmp_path, max_attempts=3)
    c.tokens.get()
    sim.set_faults(Faults(seed=1, http_5xx_rate=1.0))
    from pipelines.core.errors import ApiTransientError

    with pytest.raises(ApiTransientError) as ei:
        c.realtime(fleet.devices[0].sn)
    e = ei.value
    assert e.attempts == 3 and e.response.http_status >= 500 and "device/realtimeDataCommon" in str(e)
    assert "<html>" in e.response.body_text


# --- tokens -------------------------------------------------------------------------------------


def test_token_expiry_mid_run_unannounced(sim, fleet, tmp_path):
    sim.set_faults(Faults(token_ttl_s=1.0))  # expires earlier than the 7200 s the server announces
    c = make_client(sim, tmp_path)
    sns = items(fleet, 120)
    t0 = time.monotonic()
    out = c.fan_out(lambda sn: day_upload(c, sn), sns)
    elapsed = time.monotonic() - t0
    assert all(not isinstance(r, BaseException) and r.ok for _, r in out)
    issued = sim.stats()["tokens_issued"]
    assert 2 <= issued <= elapsed / 1.0 + 2  # one refresh per expiry, not one per thread
    assert c.stats["token_refreshes"] == issued and c.stats["failures"] == 0


def test_token_expiry_announced_refreshes_ahead(make_simulator, tmp_path):
    sim = make_simulator(token_ttl_s=1)  # the token endpoint announces "expires": 1
    c = make_client(sim, tmp_path)
    out = c.fan_out(lambda sn: day_upload(c, sn), items(sim.fleet, 120))
    assert all(not isinstance(r, BaseException) and r.ok for _, r in out)
    st = sim.stats()
    assert st["tokens_issued"] >= 2
    assert st["codes"]["device/uploadData"].get(200010, 0) <= 1  # refreshed before expiry


# --- errors -------------------------------------------------------------------------------------


def test_bad_credentials_typed_and_secret_free(sim, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    c = SajClient(sim.fleet.app_id, "WRONG-SECRET-0000-1111", sim.base_url, tmp_path / "c")
    with pytest.raises(ApiCredentialsError) as ei:
        c.device_page()
    e = ei.value
    assert e.code == 100009 and "SAJ_APP_SECRET" in str(e) and "WRONG-SECRET-0000-1111" not in str(e) + repr(e)
    assert e.response is not None and e.response.params == {"appId": sim.fleet.app_id, "appSecret": "***"}
    assert "WRONG-SECRET-0000-1111" not in caplog.text


def test_permission_and_accepted_codes(sim, fleet, tmp_path):
    c = make_client(sim, tmp_path)
    with pytest.raises(ApiPermissionError) as ei:
        c.plant_details("99999999999")
    assert ei.value.code == 200015 and ei.value.response.attempts == 1 and "authorise" in str(ei.value)
    codes = {}
    for p in fleet.plants:
        rs = c.sec_data(p.plant_id, f"{DAY} 00:00:00", f"{DAY} 23:59:59", 0)
        codes[p.plant_id] = rs[0].code
        assert len(rs) == 1
    assert set(codes.values()) == {200, 10021}
    assert sim.stats()["requests"]["device/secData"] == len(fleet.plants)  # 10021 not retried


# --- pagination and windows ---------------------------------------------------------------------


def test_pagination_over_three_pages(make_simulator, tmp_path):
    sim = make_simulator(plants=180, seed=11)
    big = sim.fleet
    n = len(big.devices)
    assert 200 < n <= 300, n
    c = make_client(sim, tmp_path)
    pages = c.device_page()
    assert len(pages) == 3 and all(p.ok for p in pages)
    rows = [r for p in pages for r in p.rows]
    assert len(rows) == n == pages[0].total and {r["deviceSn"] for r in rows} == {d.sn for d in big.devices}
    assert [p.params["pageNum"] for p in pages] == [1, 2, 3]
    plants = c.plant_page()
    assert len(plants) == 2 and sum(len(p.rows) for p in plants) == 180


def test_minute_windows(sim, fleet, tmp_path):
    c = make_client(sim, tmp_path)
    sn = fleet.devices[0].sn
    rs = c.upload_data(sn, "2025-01-05 00:00:00", "2025-01-07 00:00:00", 0)  # 48 h
    assert len(rs) == 2 and all(r.ok for r in rs)
    assert [(r.params["startTime"], r.params["endTime"]) for r in rs] == [
        ("2025-01-05 00:00:00", "2025-01-05 23:59:59"),
        ("2025-01-06 00:00:00", "2025-01-07 00:00:00"),
    ]
    assert len(rs[0].payload["data"]["data"]) == 288
    assert len(c.upload_data(sn, "2025-01-05 00:00:00", "2025-01-05 23:59:59", 0)) == 1
    assert len(c.upload_data(sn, "2025-01-01 00:00:00", "2025-01-31 23:59:59", 1)) == 1
    assert sim.stats()["codes"]["device/uploadData"] == {200: 4}


# --- secrets ------------------------------------------------------------------------------------


def test_secrets_never_logged_or_raised(sim, fleet, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    sim.set_faults(Faults(seed=2, token_ttl_s=0.5, http_5xx_rate=0.2))
    c = make_client(sim, tmp_path, max_attempts=10)
    out = c.fan_out(lambda sn: c.realtime(sn), items(fleet, 60))
    errors = [r for _, r in out if isinstance(r, BaseException)]
    with pytest.raises(ApiPermissionError) as ei:
        c.plant_details("99999999999")
    c.close()
    tokens = [json.loads(s["body"])["data"]["access_token"] for s in sim.served() if s["endpoint"] == "access_token"]
    assert tokens
    texts = [
        caplog.text,
        str(ei.value),
        repr(ei.value),
        repr(c),
        repr(c.tokens),
        str(c.stats),
        *(str(e) for e in errors),
        *(repr(r) for _, r in out),
        *(json.dumps(r.params) for _, r in out),
    ]
    for secret in [fleet.app_secret, *tokens]:
        for text in texts:
            assert secret not in text
    assert "device/realtimeDataCommon" in caplog.text


# --- two processes ------------------------------------------------------------------------------

WORKER = textwrap.dedent("""
    import json, os, sys
    from pipelines.sources.saj.client import SajClient
    c = SajClient(os.environ["T_APP"], os.environ["T_SECRET"], os.environ["T_URL"], os.environ["T_CACHE"],
                  backoff_base_s=0.05, backoff_max_s=0.5)
    sns = json.loads(os.environ["T_SNS"])
    out = c.fan_out(lambda sn: c.upload_data(sn, "2025-01-05 00:00:00", "2025-01-05 23:59:59", 1)[0], sns)
    bad = [repr(r) for _, r in out if isinstance(r, BaseException) or not r.ok]
    print(json.dumps({"ok": len(out) - len(bad), "bad": bad, "stats": c.stats}))
""")


@pytest.mark.parametrize("ttl", [None, 1.0])
def test_two_processes_share_one_token(sim, fleet, tmp_path, ttl):
    if ttl:
        sim.set_faults(Faults(token_ttl_s=ttl))
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "T_APP": fleet.app_id,
        "T_SECRET": fleet.app_secret,
        "T_URL": sim.base_url,
        "T_CACHE": str(tmp_path / "shared"),
        "T_SNS": json.dumps(items(fleet, 70)),
    }
    t0 = time.monotonic()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER], env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    results = []
    for p in procs:
        out, err = p.communicate(timeout=60)
        assert p.returncode == 0, err[-2000:]
        results.append(json.loads(out.strip().splitlines()[-1]))
    elapsed = time.monotonic() - t0
    st = sim.stats()
    for r in results:
        assert r["ok"] == 70 and r["bad"] == [] and r["stats"]["failures"] == 0
    issued = st["tokens_issued"]
    if ttl is None:
        assert issued == 1  # neither logged the other out
        assert sum(r["stats"]["token_rejections"] for r in results) == 0
    else:
        assert issued <= elapsed / ttl + 2
    # the shared schedule keeps the two processes together under the app's limit
    assert st["rejected_rate"].get("device/uploadData", 0) <= 0.02 * st["requests"]["device/uploadData"]
