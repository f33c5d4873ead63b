"""Getting in: client-credentials tokens, their expiry, the owner-consent flow, and the token bucket."""

from __future__ import annotations

import base64
import time

import requests

from simulator import Faults

# --- tokens -------------------------------------------------------------------------------------


def test_token_by_basic_auth_or_form_fields_and_the_errors(make_sma):
    sma = make_sma()
    url = sma.s.auth_url + "/oauth2/token"
    cid, secret = sma.info["client_id"], sma.info["client_secret"]
    form = requests.post(url, data={"grant_type": "client_credentials", "client_id": cid, "client_secret": secret})
    basic = requests.post(
        url,
        data={"grant_type": "client_credentials"},
        headers={"Authorization": "Basic " + base64.b64encode(f"{cid}:{secret}".encode()).decode()},
    )
    assert form.status_code == basic.status_code == 200
    assert form.json()["access_token"] != basic.json()["access_token"]
    for token in (form.json()["access_token"], basic.json()["access_token"]):  # both live at once
        assert sma.get("/v1/plants", token=token).status_code == 200
    wrong = requests.post(url, data={"grant_type": "client_credentials"}, auth=(cid, "not-the-secret"))
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    assert requests.post(url, data={}, auth=(cid, secret)).json()["error"] == "invalid_request"
    other = requests.post(url, data={"grant_type": "password"}, auth=(cid, secret))
    assert other.status_code == 400 and other.json()["error"] == "unsupported_grant_type"
    assert requests.get(url).status_code == 405
    assert sma.s.stats()["tokens_issued"] == 2


def test_monitoring_without_a_live_token_is_401(make_sma):
    sma = make_sma(consented=True)
    for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic abc"}):
        r = requests.get(sma.s.api_url + "/v1/plants", headers=headers)
        assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Bearer")
    assert sma.get("/v1/plants").status_code == 200


def test_token_expires_after_its_lifetime_and_a_new_one_works(make_sma):
    sma = make_sma(consented=True, token_ttl_s=0.4)
    token = sma.new_token()
    assert sma.get("/v1/plants", token=token).status_code == 200
    time.sleep(0.5)
    assert sma.get("/v1/plants", token=token).status_code == 401
    assert sma.get("/v1/plants", token=sma.new_token()).status_code == 200


def test_a_test_can_end_every_token_mid_run(make_sma):
    sma = make_sma(consented=True)
    token = sma.new_token()
    plant = sma.plant(0)["plantId"]
    path = f"/v1/plants/{plant}/measurements/sets/EnergyBalance/Day"
    assert sma.get(path, token=token, Date="2025-11-01").status_code == 200
    r = requests.post(sma.s.admin_url + "/sma/tokens/expire", timeout=5)
    assert r.json() == {"expired": 1}
    assert sma.get(path, token=token, Date="2025-11-02").status_code == 401
    assert sma.get(path, token=sma.new_token(), Date="2025-11-02").status_code == 200


def test_early_expiry_fault_kills_tokens_before_expires_in(make_sma):
    sma = make_sma(consented=True, faults=Faults(token_ttl_s=0.2))
    r = requests.post(
        sma.s.auth_url + "/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(sma.info["client_id"], sma.info["client_secret"]),
    ).json()
    assert r["expires_in"] == 300  # announced as usual
    time.sleep(0.3)
    assert sma.get("/v1/plants", token=r["access_token"]).status_code == 401


# --- consent ------------------------------------------------------------------------------------


def test_consent_flow_pending_accepted_declined_revoked(make_sma):
    sma = make_sma()  # nobody has consented yet
    a, b = sma.info["owners"]
    plants_of = sma.info["owners"]
    assert sma.ok("/v1/plants") == {"plants": []}  # an empty list, not an error
    assert sma.get(f"/v1/plants/{plants_of[a][0]}").status_code == 403

    stranger = sma.consent_request("someone@example.com")
    assert stranger.status_code == 400 and "not a plant owner" in stranger.json()["message"]
    assert (
        requests.get(
            sma.s.consent_url + "/oauth2/v2/bc-authorize/someone@example.com",
            headers={"Authorization": f"Bearer {sma.token}"},
        ).status_code
        == 404
    )

    r = sma.consent_request(a)
    assert r.status_code == 200 and r.json() == {"loginHint": a, "state": "Pending"}
    status = requests.get(
        f"{sma.s.consent_url}/oauth2/v2/bc-authorize/{a}", headers={"Authorization": f"Bearer {sma.token}"}
    )
    assert status.json()["state"] == "Pending"
    assert sma.ok("/v1/plants") == {"plants": []}  # pending is not enough

    assert sma.owner_decides(a, "accept").json()["state"] == "Accepted"
    assert sorted(p["plantId"] for p in sma.ok("/v1/plants")["plants"]) == sorted(plants_of[a])
    assert sma.consent_request(a).json()["state"] == "Accepted"  # asking again changes nothing
    assert sma.get(f"/v1/plants/{plants_of[b][0]}/devices/lean").status_code == 403

    sma.consent_request(b)
    assert sma.owner_decides(b, "decline").json()["state"] == "Rejected"
    assert sorted(p["plantId"] for p in sma.ok("/v1/plants")["plants"]) == sorted(plants_of[a])
    assert sma.owner_decides(b, "accept").status_code == 400  # nothing pending to accept
    assert sma.consent_request(b).json()["state"] == "Pending"  # a declined owner can be asked again
    sma.owner_decides(b, "accept")
    assert len(sma.ok("/v1/plants")["plants"]) == 6

    assert sma.owner_decides(a, "revoke").json()["state"] == "Revoked"
    assert sorted(p["plantId"] for p in sma.ok("/v1/plants")["plants"]) == sorted(plants_of[b])
    assert sma.s.consent_emails_sent == {a: 1, b: 2}
    assert requests.post(sma.s.consent_url + "/oauth2/v2/bc-authorize", json={"loginHint": a}).status_code == 401


def test_the_owners_and_their_plants_are_published_for_tests(make_sma):
    sma = make_sma()
    owners = sma.info["owners"]
    assert len(owners) == 2 and all(e.endswith("@example.com") for e in owners)
    assert sorted(sum(owners.values(), [])) == sorted(p["plantId"] for p in sma.info["plants"])
    assert sma.info["urls"]["SMA_API_URL"] == sma.s.api_url


# --- rate limit ---------------------------------------------------------------------------------


def test_bucket_answers_429_with_retry_after_and_refills(make_sma):
    sma = make_sma(consented=True, bucket_size=5, refill_s=1.0)
    token = sma.new_token()
    codes = [sma.get("/v1/plants", token=token).status_code for _ in range(5)]
    assert codes == [200] * 5
    r = sma.get("/v1/plants", token=token)
    assert r.status_code == 429 and r.headers["Retry-After"] == "1"
    # per API key, not per token: a new token draws from the same bucket; the token endpoint is not counted
    assert sma.get("/v1/plants", token=sma.new_token()).status_code == 429
    time.sleep(float(r.headers["Retry-After"]) + 0.05)
    assert [sma.get("/v1/plants", token=token).status_code for _ in range(6)] == [200] * 5 + [429]
    assert sma.s.stats()["rejected_rate"] == {"monitoring/v1/plants": 3}


def test_a_429_storm_is_cheap_to_provoke_over_http(make_sma):
    sma = make_sma(consented=True)
    r = requests.post(sma.s.admin_url + "/sma/config", json={"bucket_size": 2, "refill_s": 60}, timeout=5)
    assert r.json()["bucket_size"] == 2
    codes = [sma.get("/v1/plants").status_code for _ in range(10)]
    assert codes == [200, 200] + [429] * 8
    assert 55 <= int(sma.get("/v1/plants").headers["Retry-After"]) <= 60
    requests.post(sma.s.admin_url + "/reset", timeout=5)  # the reset refills the bucket too
    assert sma.get("/v1/plants").status_code == 200
    free = make_sma(consented=True, bucket_size=1, limits=False)
    assert [free.get("/v1/plants").status_code for _ in range(3)] == [200] * 3
