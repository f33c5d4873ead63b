"""The SolaX client over HTTP against the stand-in, and what it makes of the captured real answers: success, the
errors of the document and of the field guide as typed errors saying what to do, the limits never retried, the
token never kept."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from pipelines.core import transport as kinds
from pipelines.core.errors import ApiCredentialsError, ApiPermissionError, ApiTransientError
from pipelines.sources.solax.client import (
    DAY,
    LOCKED,
    MINUTE,
    NO_DATA,
    LockedOutError,
    MinuteLimitError,
    SolaxClient,
    classify,
    envelope,
)
from pipelines.sources.solax.settings import REALTIME
from simulator import Faults
from simulator.core.clock import MovableClock
from tests.support import shared_fixture

NOW = datetime(2025, 11, 2, 10, 0, tzinfo=timezone.utc)


def _client(server, token=None, **kwargs) -> SolaxClient:
    kwargs.setdefault("rate_limit", False)
    kwargs.setdefault("backoff_base_s", 0.01)
    return SolaxClient(server.token if token is None else token, server.base_url, **kwargs)


def _calls(server) -> int:
    return server.stats()["requests"].get(REALTIME, 0)


def test_a_snapshot_is_the_body_as_served_stamped_on_the_clients_clock(make_solax):
    server = make_solax()
    clock = MovableClock(server.admin_url, NOW)
    client = _client(server, clock=clock.time, sleep=clock.sleep)
    dongle = server.dongles[2]
    response = client.realtime(dongle.wifi_sn)
    assert response.ok and response.code == 0 and response.result["sn"] == dongle.wifi_sn
    assert response.fetched_at == NOW
    (served,) = server.served()
    assert response.body_text == served["body"].decode() and response.params == {"wifiSn": dongle.wifi_sn}
    assert "utcDateTime" in response.result and response.result["inverterSN"] == dongle.inverter_sn


def test_a_refused_token_says_where_to_get_one_and_is_not_retried(make_solax):
    server = make_solax()
    with pytest.raises(ApiCredentialsError) as info:
        _client(server, token="20240101000000000000000").realtime(server.dongles[0].wifi_sn)
    assert info.value.code == 103 and "SOLAX_TOKEN_ID" in str(info.value) and "Service > API" in str(info.value)
    server.configure(token_invalid=True)  # revoked on the portal
    with pytest.raises(ApiCredentialsError, match="token invalid"):
        _client(server).realtime(server.dongles[0].wifi_sn)
    assert _calls(server) == 2


def test_a_dongle_the_token_may_not_read(make_solax):
    server = make_solax()
    client = _client(server)
    for serial in ("SXXXXXXXXX", server.dongles[0].inverter_sn):  # unknown, and the inverter's serial
        with pytest.raises(ApiPermissionError) as info:
            client.realtime(serial)
        assert info.value.code == 1003 and "registration number" in str(info.value) and serial in str(info.value)


def test_a_dongle_that_never_uploaded_answers_no_data_and_is_kept(make_solax):
    server = make_solax()
    MovableClock(server.admin_url, datetime(2024, 12, 31, 12, tzinfo=timezone.utc))  # before the fleet's first day
    response = _client(server).realtime(server.dongles[0].wifi_sn)
    assert response.code == NO_DATA and response.result is None and '"Data not found"' in response.body_text


def test_server_errors_truncated_bodies_and_generic_failures_are_retried(make_solax):
    server = make_solax(limits=False, faults=Faults(seed=3, http_5xx_rate=0.3, truncate_rate=0.2, code_10001_rate=0.2))
    client = _client(server, max_attempts=8)
    answers = [client.realtime(d.wifi_sn) for d in server.dongles for _ in range(3)]
    assert all(a.ok for a in answers) and max(a.attempts for a in answers) > 1
    assert client.stats["retries"] == sum(a.attempts - 1 for a in answers)
    stats = server.stats()
    assert stats["http_errors"][REALTIME] > 0 and stats["truncated"] and stats["codes"][REALTIME][2001] > 0
    always = make_solax(limits=False, faults=Faults(seed=1, http_5xx_rate=1.0))
    with pytest.raises(ApiTransientError, match="gave up after 3 attempts; last cause: HTTP 503"):
        _client(always).realtime(always.dongles[0].wifi_sn)


def test_the_limits_are_raised_at_once_never_retried(make_solax):
    """Every refused call is a violation and three in a row lock the token out: the client never asks again by
    itself (the round decides)."""
    server = make_solax(per_minute=2)
    client = _client(server)
    sn = server.dongles[0].wifi_sn
    client.realtime(sn), client.realtime(sn)
    with pytest.raises(MinuteLimitError) as info:
        client.realtime(sn)
    assert info.value.code == 104 and _calls(server) == 3 and "waits a minute" in str(info.value)


def test_a_lockout_is_typed_and_its_echoed_token_is_scrubbed(make_solax):
    server = make_solax(per_minute=1, violations=1)
    client = _client(server)
    sn = server.dongles[0].wifi_sn
    client.realtime(sn)
    with pytest.raises(LockedOutError) as info:
        client.realtime(sn)
    body = info.value.response.body_text
    assert info.value.code == 1 and '"tokenId":"***"' in body and server.token not in body
    assert server.token not in str(info.value) + repr(info.value) + repr(client)


@pytest.mark.parametrize(
    "fixture, kind",
    [
        ("v2_realtimeInfo_get_success_2026-02-17.json", kinds.OK),
        ("v1_getRealtimeInfo_success_2021-11-15_x1-boost.json", kinds.OK),  # no code, success last
        ("v1_getRealtimeInfo_success_2022-04-16_hybrid_battery.json", kinds.OK),
        ("v1_getRealtimeInfo_success_2023-11-28_x1-hybrid-g4.json", kinds.OK),
        ("v1_getRealtimeInfo_error_no_auth_without_code.json", kinds.PERMISSION),
        ("v1_getRealtimeInfo_error_sn_did_not_access.json", kinds.PERMISSION),  # success false, "Query success!"
        ("v1_getRealtimeInfo_error_lockout_one_hour.json", LOCKED),
    ],
)
def test_the_captured_answers_mean_what_users_report(fixture, kind):
    payload = shared_fixture("solax-cloud-api", fixture)
    code, _ = envelope(payload)
    assert classify(payload, code) == kind


def test_the_limits_as_clients_report_them():
    assert classify({"success": False, "exception": "Request calls within the current minute > threshold",
                     "result": None, "code": 104}, 104) == MINUTE  # fmt: skip
    assert classify({"success": False, "exception": "...exceed the maximum call threshold...", "code": 3}, 3) == DAY
    assert classify({"success": False, "exception": "Interface Unauthorized", "code": 1001}, 1001) == kinds.CREDENTIALS
    assert classify({"success": True, "exception": "x", "result": "not an object", "code": 0}, 0) == kinds.OTHER
