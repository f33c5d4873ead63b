"""Redaction and typed errors: no secret in any text an error or a log can show."""

import pickle

from pipelines.core.errors import (
    ApiCredentialsError,
    ApiError,
    ApiPermissionError,
    ApiTransientError,
    ConfigurationError,
    redact_params,
    register_secret,
)

SECRET = "unit-test-app-secret-0123456789"
TOKEN = "MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBAKWpFE9unit"


def test_redact_params():
    register_secret(TOKEN)
    out = redact_params(
        {
            "appId": "a",
            "appSecret": SECRET,
            "accessToken": "t",
            "clientSign": "abc",
            "client_secret": "x",
            "Authorization": "Bearer t",
            "tokenId": "123",
            "deviceSn": "SN1",
            "note": f"has {TOKEN} inside",
            "pageNum": 1,
        }
    )
    assert out == {
        "appId": "a",
        "appSecret": "***",
        "accessToken": "***",
        "clientSign": "***",
        "client_secret": "***",
        "Authorization": "***",
        "tokenId": "***",
        "deviceSn": "SN1",
        "note": "has *** inside",
        "pageNum": 1,
    }


def test_errors_never_show_secrets():
    register_secret(SECRET)
    register_secret(TOKEN)
    errs = [
        ApiError("SAJ", "device/uploadData", {"deviceSn": "SN", "appSecret": SECRET}, 10021, f"oops {TOKEN}"),
        ApiCredentialsError("SMA", "oauth2/token", {"client_secret": SECRET}, None, "invalid_client"),
        ApiTransientError("SAJ", "device/uploadData", {"accessToken": TOKEN}, 6, f"ConnectionError ...token={TOKEN}"),
        ConfigurationError(f"SAJ credentials missing: {SECRET} was not accepted"),
    ]
    for e in errs:
        for text in (str(e), repr(e), str(getattr(e, "params", "")), getattr(e, "hint", "")):
            assert SECRET not in text and TOKEN not in text


def test_messages_name_the_vendor_the_call_and_what_to_do():
    t = ApiTransientError("SAJ", "device/uploadData", {"deviceSn": "SN"}, 6, "HTTP 502")
    assert "SAJ API device/uploadData" in str(t) and "6 attempts" in str(t) and "HTTP 502" in str(t)
    assert "retry the run later" in str(t)
    generic = ApiError("SolaX", "realtimeInfo/get", {}, None, None, response=type("R", (), {"http_status": 503})())
    assert "SolaX" in str(generic) and "retry later" in generic.hint


def test_errors_pickle():
    for e in (
        ApiPermissionError("SAJ", "plant/details", {"plantId": "1"}, 10005, "No permission", hint="authorise it"),
        ApiTransientError("SAJ", "device/uploadData", {"deviceSn": "SN"}, 6, "HTTP 502", code=None),
    ):
        e2 = pickle.loads(pickle.dumps(e))
        assert type(e2) is type(e) and str(e2) == str(e)
