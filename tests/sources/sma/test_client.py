"""The SMA client against the stand-in over HTTP: tokens shared and refreshed, consent's empty list, the
per-key bucket's 429s, transient faults, clear errors, no secret anywhere, ids checked before any path."""

from __future__ import annotations

import logging
import pickle
import stat
import time
from datetime import date

import pytest
import requests

from pipelines.core.errors import ApiCredentialsError, ApiPermissionError, ConfigurationError
from pipelines.core.lake import UnsafeIdentifierError
from pipelines.sources.sma.client import SmaClient, parse_token
from pipelines.sources.sma.settings import DEFAULT_API_URL, SmaSettings
from simulator import Faults
from tests.sources.sma.conftest import sma_client
from tests.support import shared_fixture

DAY = date(2025, 11, 1)


def test_one_token_is_shared_by_every_client_of_a_deployment(consented, tmp_path):
    first, second = sma_client(consented, tmp_path), sma_client(consented, tmp_path)
    assert first.plants().ok and second.plants().ok and first.plants().ok
    assert consented.s.stats()["tokens_issued"] == 1  # the second "process" read the first one's token
    (cache,) = (tmp_path / "tokens").glob("token-*.json")
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600


def test_a_token_is_replaced_before_it_expires_not_after_a_refusal(make_sma, tmp_path):
    sma = make_sma(consented=True, token_ttl_s=1.0)
    client = sma_client(sma, tmp_path)
    assert client.plants().ok
    time.sleep(1.2)  # past its life: the next call must not even try the old token
    assert client.plants().ok
    assert client.stats["token_refreshes"] == 2 and client.stats["token_rejections"] == 0


def test_a_token_refused_while_it_should_still_be_valid_gets_one_refresh_and_a_retry(consented, tmp_path):
    client = sma_client(consented, tmp_path)
    plant = consented.plant(0)["plantId"]
    assert client.energy_balance(plant, DAY).ok
    assert requests.post(consented.s.admin_url + "/sma/tokens/expire", timeout=5).json() == {"expired": 1}
    response = client.energy_balance(plant, DAY)  # expires_in says the token lives 5 minutes more
    assert response.ok and response.attempts == 2
    assert client.stats["token_rejections"] == 1 and consented.s.stats()["tokens_issued"] == 2


def test_a_429_storm_is_waited_out_for_its_retry_after_and_every_answer_arrives(make_sma, tmp_path):
    sma = make_sma(consented=True)
    requests.post(sma.s.admin_url + "/sma/config", json={"bucket_size": 4, "refill_s": 1}, timeout=5)
    client = sma_client(sma, tmp_path)
    plants = [p["plantId"] for p in sma.info["plants"]]
    out = client.fan_out(lambda p: client.energy_balance(p, DAY), plants * 2, max_workers=4)
    assert all(not isinstance(r, BaseException) and r.ok and r.payload["set"] for _, r in out)
    rejected = sum(sma.s.stats()["rejected_rate"].values())
    assert rejected > 0 and client.stats["rate_rejections"] == rejected and client.stats["failures"] == 0


def test_server_errors_and_cut_bodies_are_retried(make_sma, tmp_path):
    sma = make_sma(consented=True, faults=Faults(seed=3, http_5xx_rate=0.3, truncate_rate=0.15))
    client = sma_client(sma, tmp_path, backoff_base_s=0.01)
    plants = [p["plantId"] for p in sma.info["plants"]]
    out = client.fan_out(lambda p: client.energy_balance(p, DAY), plants * 3)
    assert all(not isinstance(r, BaseException) and r.ok and r.payload["set"] for _, r in out)
    assert client.stats["retries"] > 0 and client.stats["failures"] == 0


def test_without_consent_the_plant_list_is_empty_and_a_plant_is_forbidden_with_what_to_do(make_sma, tmp_path):
    sma = make_sma(consented=False)
    client = sma_client(sma, tmp_path)
    assert client.plants().payload == {"plants": []}
    with pytest.raises(ApiPermissionError) as err:
        client.energy_balance(sma.plant(0)["plantId"], DAY)
    assert "sma-consent OWNER_EMAIL" in str(err.value)


def test_wrong_or_missing_credentials_name_the_variables_and_never_the_secret(consented, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    wrong = "RECOGNISABLE-WRONG-SMA-SECRET"
    client = sma_client(consented, tmp_path, client_secret=wrong)
    with pytest.raises(ApiCredentialsError) as err:
        client.plants()
    exc = err.value
    assert "SMA_CLIENT_ID and SMA_CLIENT_SECRET" in str(exc) and exc.response.http_status == 401
    text = str(exc) + repr(exc) + repr(exc.__dict__) + str(pickle.loads(pickle.dumps(exc))) + caplog.text
    assert wrong not in text and "Basic" not in text
    with pytest.raises(ConfigurationError, match="SMA_CLIENT_SECRET"):
        SmaClient("some-id", None)


def test_no_secret_or_token_in_logs_reprs_or_stored_params(consented, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    for name in ("urllib3", "pipelines"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    client = sma_client(consented, tmp_path)
    response = client.energy_balance(consented.plant(1)["plantId"], DAY)
    client.close()
    token = client.tokens.get()
    secret = consented.info["client_secret"]
    shown = caplog.text + repr(client) + repr(client.tokens) + repr(response) + str(response.params)
    assert "oauth2/token" in caplog.text  # the token call was logged, without what it carried
    assert secret not in shown and token not in shown
    assert response.params == {
        "plantId": consented.plant(1)["plantId"],
        "Date": "2025-11-01",
        "ReturnEnergyValues": "true",
    }


def test_ids_from_the_api_are_checked_before_they_reach_a_path(consented, tmp_path):
    client = sma_client(consented, tmp_path)
    guid = next(p["plantId"] for p in consented.info["plants"] if p["classic"])
    assert client.energy_balance(guid, DAY).ok  # Sunny Portal classic ids are GUIDs: plain identifiers
    for bad in ("../../admin/sma", "7190000/../../x", "a b", "7190000?Date=1"):
        with pytest.raises(UnsafeIdentifierError):
            client.energy_balance(bad, DAY)
    assert client.stats["attempts"] == 2  # the token and the one good call: nothing else was sent


def test_settings_defaults_and_a_bad_time_basis(monkeypatch):
    for name in ("SMA_AUTH_URL", "SMA_CONSENT_URL", "SMA_API_URL", "SMA_TIME_BASIS"):
        monkeypatch.delenv(name, raising=False)
    settings = SmaSettings.from_env()
    assert (settings.auth_url, settings.consent_url, settings.api_url, settings.time_basis) == (
        "https://auth.smaapis.de",
        "https://async-auth.smaapis.de",
        DEFAULT_API_URL,
        "local",
    )
    monkeypatch.setenv("SMA_API_URL", "https://sandbox.smaapis.de/monitoring/")
    monkeypatch.setenv("SMA_CLIENT_SECRET", "not-shown")
    settings = SmaSettings.from_env()
    assert settings.api_url == "https://sandbox.smaapis.de/monitoring" and "not-shown" not in repr(settings)
    monkeypatch.setenv("SMA_TIME_BASIS", "gmt")
    with pytest.raises(ValueError, match="SMA_TIME_BASIS"):
        SmaSettings.from_env()


def test_the_captured_token_answer_is_read():
    token, expires_s = parse_token(
        shared_fixture("sma-monitoring-api", "oauth2_token_authorization_code_offline_access.json")
    )
    assert token == "unique access token" and expires_s == 300
    assert parse_token({"access_token": "t"}) == ("t", 300) and parse_token({"error": "invalid_client"}) is None
