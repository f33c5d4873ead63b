"""The repeated hour of a fall-back day in stamp order (ordering.py), over HTTP: each endpoint that serves the
samples of a window answers the stable sort of its time-ordered answer by local stamp, so each repeated
stamp's two samples come as an adjacent pair, the earlier instant first; off by default, switched per
endpoint in Python, on the command line or by the admin route."""

from __future__ import annotations

from datetime import date

import pytest
import requests

from simulator.saj import ordering

from .client import Api

BERLIN_FALL = date(2025, 10, 26)  # 02:00-02:55 twice
SYDNEY_FALL = date(2025, 4, 6)


def window(day: date) -> dict:
    return {"startTime": f"{day} 00:00:00", "endTime": f"{day} 23:59:59"}


@pytest.fixture
def pair(make_simulator) -> tuple[Api, Api]:
    """Clients of two servers on one fleet: samples in time order (the default), and in stamp order."""
    apis = []
    for order in ({}, dict.fromkeys(ordering.ENDPOINTS, "stamp")):
        a = Api(make_simulator(limits=False, gaps=False, sample_order=order))
        a.login()
        apis.append(a)
    return apis[0], apis[1]


def samples(api: Api, endpoint: str, **params) -> list[dict]:
    data = api.get(endpoint, **params)["data"]
    if endpoint == "device/uploadData":
        return data["data"]
    if endpoint == "device/secData":
        return data["dataList"][0]["data"]
    return data


def stamp(sample: dict) -> str:
    return sample["dataTime"].replace("T", " ")


def assert_stamp_order(timed: list[dict], stamped: list[dict]):
    """`stamped` is `timed` sorted stably by stamp: each repeated stamp's two samples adjacent, in time order."""
    assert stamped == sorted(timed, key=stamp)
    stamps = [stamp(s) for s in stamped]
    repeated = [i for i in range(len(stamps) - 1) if stamps[i] == stamps[i + 1]]
    assert len(repeated) == 12 and stamps[repeated[0]][11:] == "02:00:00" and stamps[repeated[-1]][11:] == "02:55:00"
    return repeated


def test_the_repeated_hour_of_minute_data_comes_in_pairs(pair):
    timed, stamped = pair
    fl = timed.s.fleet
    munich = fl.plants[4]  # storage: load and battery tell the two passes apart
    for dev in [*fl.plants[0].devices, munich.devices[0]]:
        q = {"deviceSn": dev.sn, "timeUnit": 0, **window(BERLIN_FALL)}
        a, b = samples(timed, "device/uploadData", **q), samples(stamped, "device/uploadData", **q)
        assert len(a) == len(b) == 300
        assert [stamp(s) for s in a[24:48]] == [stamp(s) for s in a[24:36]] * 2  # time order: the hour twice
        repeated = assert_stamp_order(a, b)
        truth = fl.device_day(dev.sn, BERLIN_FALL)
        first, second = truth.iloc[24:36], truth.iloc[36:48]  # the hour's first and second pass
        if dev.device_type == 0:
            # a PV inverter's day counter does not move at 2 am: it cannot tell the copies apart, their order can
            assert all(b[i]["todayEnergy"] == b[i + 1]["todayEnergy"] for i in repeated)
        else:
            assert [b[i]["loadPower"] for i in repeated] == first.load_w.astype(int).tolist()
            assert [b[i + 1]["loadPower"] for i in repeated] == second.load_w.astype(int).tolist()
            assert first.load_w.tolist() != second.load_w.tolist()


@pytest.mark.parametrize(
    "endpoint", ["device/secData", "device/emsHistoryData", "device/emsHistoryData4Meter", "device/historyDataCommon"]
)
def test_every_sample_endpoint_can_sort_its_stamps(pair, endpoint):
    timed, stamped = pair
    p = timed.s.fleet.plants[1]  # Sydney, storage with a load monitor
    if endpoint == "device/secData":
        q = {"plantId": p.plant_id, "timeUnit": 0, **window(SYDNEY_FALL)}
    elif endpoint == "device/historyDataCommon":
        q = {"deviceSn": p.devices[0].sn, **window(SYDNEY_FALL)}
    else:  # the meters answer at most 2 hours
        q = {"emsSn": p.module_sn, "plantId": p.plant_id, **window(SYDNEY_FALL)}
        if endpoint.endswith("4Meter"):
            q |= {"startTime": f"{SYDNEY_FALL} 01:30:00", "endTime": f"{SYDNEY_FALL} 03:00:00"}
    a, b = samples(timed, endpoint, **q), samples(stamped, endpoint, **q)
    repeated = assert_stamp_order(a, b)
    if "invTime" in b[0]:  # the device's own clock (UTC) tells the copies apart
        assert all(b[i]["invTime"] < b[i + 1]["invTime"] for i in repeated)


def test_the_switch_is_off_by_default_and_per_endpoint(make_simulator):
    s = make_simulator(limits=False, gaps=False)
    admin = f"{s.admin_url}/saj/sample-order"
    assert requests.get(admin, timeout=5).json() == {}
    api = Api(s)
    api.login()
    sn = s.fleet.plants[0].devices[0].sn
    q = {"deviceSn": sn, "timeUnit": 0, **window(BERLIN_FALL)}
    timed = samples(api, "device/uploadData", **q)
    r = requests.post(admin, json={"device/uploadData": "stamp"}, timeout=5)
    assert r.status_code == 200 and r.json()["sample_order"] == {"device/uploadData": "stamp"}
    assert samples(api, "device/uploadData", **q) == sorted(timed, key=stamp) != timed
    history = {"deviceSn": sn, **window(BERLIN_FALL)}
    assert [stamp(x) for x in samples(api, "device/historyDataCommon", **history)] == [stamp(x) for x in timed]
    for bad in ({"device/uploadData": "reversed"}, {"plant/details": "stamp"}):
        assert requests.post(admin, json=bad, timeout=5).status_code == 400
    assert requests.post(admin, json={}, timeout=5).json()["sample_order"] == {}
    assert samples(api, "device/uploadData", **q) == timed
