"""How the SAJ stand-in wraps its answers: the shape of the captured real responses by default, the
reference's other shapes on request.

By default every endpoint answers as the real responses in the fixtures do, ``{"code": 200, "msg": ...,
"data": ...}`` (the page endpoints with `total`, `rows` and `totalPage` beside `code`/`msg` instead of a
`data` wrapper). The reference's own examples show other shapes; a server answers an endpoint in one of
them when told so (``SimulatorServer(envelopes={endpoint: style})``, ``--envelope``, ``POST
/admin/saj/envelopes``), so that clients can be tested against every shape the service is documented with:

- ``code``: the default;
- ``code0``: ``{"code": 0, "msg": "", "data": ...}`` (the reference's baseinfo, historyDataCommon and alarm
  examples);
- ``errCode``: ``{"errCode": 0, "errMsg": "", "data": ...}`` (its uploadData and emsRealtimeDataCommon
  examples);
- ``errCodeText``: ``{"errCode": "0", "errMsg": "", "data": ...}``, the code as text (its
  realtimeDataCommon example);
- ``bare``: the data alone (its emsHistoryData4Meter example).

An error answers ``"data": null`` in the endpoint's shape (``bare`` and ``code0`` endpoints in the
``code`` shape, with the error's code).
"""

from __future__ import annotations

import json

STYLES = ("code", "code0", "errCode", "errCodeText", "bare")

#: every endpoint in the shape of the reference's example for it, where that is not the default
REFERENCE_ENVELOPES = {
    "device/baseinfo": "code0",
    "device/historyDataCommon": "code0",
    "device/alarmList": "code0",
    "device/getDeviceAlarmList": "code0",
    "device/realtimeDataCommon": "errCodeText",
    "device/uploadData": "errCode",
    "device/emsRealtimeDataCommon": "errCode",
    "device/emsHistoryData4Meter": "bare",
}


class RawJson(str):
    """JSON text already rendered (a body that a dict cannot hold, such as a key sent twice)."""


def dumps(obj) -> str:
    return obj if isinstance(obj, RawJson) else json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def success(style: str, data, msg: str) -> tuple[str, int]:
    """(body, the code it carries) of a successful answer."""
    d = dumps(data)
    if style == "code":
        return f'{{"code":200,"msg":{dumps(msg)},"data":{d}}}', 200
    if style == "code0":
        return f'{{"code":0,"msg":"","data":{d}}}', 0
    if style == "errCode":
        return f'{{"errCode":0,"errMsg":"","data":{d}}}', 0
    if style == "errCodeText":
        return f'{{"errCode":"0","errMsg":"","data":{d}}}', 0
    return d, 200


def page(style: str, rows: list, total: int, total_page: int, msg: str) -> tuple[str, int]:
    """(body, code) of a page: `total`, `rows`, the code and message, `totalPage` at the top."""
    head, code = {
        "code": ({"code": 200, "msg": msg}, 200),
        "code0": ({"code": 0, "msg": ""}, 0),
        "errCode": ({"errCode": 0, "errMsg": ""}, 0),
        "errCodeText": ({"errCode": "0", "errMsg": ""}, 0),
        "bare": ({}, 200),
    }[style]
    return dumps({"total": total, "rows": rows, **head, "totalPage": total_page}), code


def error(style: str, code: int, msg: str) -> str:
    if style == "errCode":
        return dumps({"errCode": code, "errMsg": msg, "data": None})
    if style == "errCodeText":
        return dumps({"errCode": str(code), "errMsg": msg, "data": None})
    return dumps({"code": code, "msg": msg, "data": None})


def checked(envelopes: dict, endpoints) -> dict:
    """`envelopes` validated against the served endpoints and the known styles."""
    for endpoint, style in envelopes.items():
        if endpoint not in endpoints:
            raise ValueError(f"no endpoint {endpoint!r}")
        if style not in STYLES:
            raise ValueError(f"envelope style {style!r} is not one of {', '.join(STYLES)}")
    return dict(envelopes)
