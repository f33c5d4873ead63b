"""`python3 run.py sma-consent`: asking an owner, following the requests, and SMA's reasons, against the stand-in."""

from __future__ import annotations

import stat

import pytest

from pipelines.sources.sma.consent import Requests, main, requests_path


@pytest.fixture
def operator(make_sma, tmp_path, monkeypatch):
    """The stand-in with nobody consented, and the operator's environment pointing at it."""
    sma = make_sma(consented=False)
    monkeypatch.setenv("FLEET_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SMA_CLIENT_ID", sma.info["client_id"])
    monkeypatch.setenv("SMA_CLIENT_SECRET", sma.info["client_secret"])
    for name, url in sma.info["urls"].items():
        monkeypatch.setenv(name, url)
    return sma


def test_ask_an_owner_see_pending_then_accepted(operator, tmp_path, capsys):
    owner_a, owner_b = operator.info["owners"]
    assert main([owner_a]) == 0
    assert "pending: SMA e-mailed the owner" in capsys.readouterr().out
    assert operator.s.consent_emails_sent == {owner_a: 1}
    assert main([owner_b]) == 0
    operator.owner_decides(owner_a, "accept")
    assert main(["--status"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1].startswith(owner_b) and "pending" in out[1]  # pending first
    assert out[2].startswith(owner_a) and "accepted" in out[2]
    assert out[-1] == "1 pending of 2 request(s)."
    assert Requests(requests_path(tmp_path)).pending() == [owner_b]
    path = requests_path(tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # owners' e-mail addresses


def test_a_declined_request_shows_and_can_be_asked_again(operator, capsys):
    owner = next(iter(operator.info["owners"]))
    main([owner])
    operator.owner_decides(owner, "decline")
    main(["--status"])
    assert "declined by the owner" in capsys.readouterr().out
    assert main([owner]) == 0 and "pending" in capsys.readouterr().out


def test_someone_who_owns_no_plant_gets_no_request_and_smas_reason(operator, capsys):
    assert main(["someone@example.com"]) == 1
    assert (
        "SMA sent no request: No permission request was sent: the user 'someone@example.com' is not a plant owner."
        in (capsys.readouterr().out)
    )
    assert operator.s.consent_emails_sent == {}


def test_nothing_asked_yet_and_no_credentials(operator, capsys, monkeypatch):
    assert main(["--status"]) == 0
    assert "No consent request was made" in capsys.readouterr().out
    monkeypatch.delenv("SMA_CLIENT_SECRET")
    assert main(["--status"]) == 2
    assert "set SMA_CLIENT_SECRET" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([])
