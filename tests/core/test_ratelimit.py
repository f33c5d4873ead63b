"""The per-endpoint pacing: under a sliding window whatever the threads, shared through a store, adaptive."""

import threading
import time

import pytest

from pipelines.core.ratelimit import FileSlotStore, RateLimiter

LIMITS = {"fast": 50, "slow": 5, "free": None}


def limiter(**kwargs) -> RateLimiter:
    return RateLimiter(LIMITS, default_qps=5, **kwargs)


def test_limits_documented_overridden_and_scaled():
    rl = limiter(qps={"slow": 20}, qps_scale=2)
    assert rl.limit("slow") == 40 and rl.limit("fast") == 100 and rl.limit("unlisted") == 10
    assert rl.rate("slow") == pytest.approx(38)
    assert limiter(qps=7).limit("fast") == 7 and limiter(qps=7).limit("free") is None
    assert limiter().limit("free") is None and limiter().acquire("free") == 0.0


def _measure(rl: RateLimiter, endpoint: str, threads: int, seconds: float) -> list[float]:
    stamps: list[float] = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def worker():
        while time.monotonic() < stop:
            rl.acquire(endpoint)
            with lock:
                stamps.append(time.monotonic())

    ts = [threading.Thread(target=worker) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return sorted(stamps)


def max_in_window(stamps: list[float], window: float = 1.0) -> int:
    best, j = 0, 0
    for i, t in enumerate(stamps):
        while stamps[j] <= t - window:
            j += 1
        best = max(best, i - j + 1)
    return best


@pytest.mark.parametrize("shared", [False, True])
def test_limiter_paces_threads_under_sliding_window(tmp_path, shared):
    rl = limiter(store=FileSlotStore(tmp_path / "rl") if shared else None)
    stamps = _measure(rl, "fast", threads=16, seconds=1.5)
    assert max_in_window(stamps) <= 50
    rate = (len(stamps) - 1) / (stamps[-1] - stamps[0])
    assert 0.9 * 50 <= rate <= 50


def test_shared_store_spans_instances(tmp_path):
    # two limiters on one directory (as two processes would be) share one schedule
    a, b = limiter(store=FileSlotStore(tmp_path / "rl")), limiter(store=FileSlotStore(tmp_path / "rl"))
    stamps: list[float] = []
    lock = threading.Lock()

    def run(rl):
        for _ in range(3):
            rl.acquire("slow")
            with lock:
                stamps.append(time.monotonic())

    ts = [threading.Thread(target=run, args=(x,)) for x in (a, b, a, b)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    stamps.sort()
    assert max_in_window(stamps) <= 5
    assert (stamps[-1] - stamps[0]) >= 11 / 5 * 0.99


def test_namespaces_do_not_share_a_budget(tmp_path):
    store = FileSlotStore(tmp_path / "rl")
    a, b = limiter(store=store, namespace="app1"), limiter(store=store, namespace="app2")
    t0 = time.monotonic()
    for _ in range(3):
        a.acquire("slow")
        b.acquire("slow")
    assert time.monotonic() - t0 < 2 * 0.25  # each app paces its own 5 QPS, not a shared one


def test_limiter_pause_and_disable():
    rl = limiter()
    rl.acquire("slow")
    rl.pause("slow", 0.3)
    t0 = time.monotonic()
    rl.acquire("slow")
    assert time.monotonic() - t0 >= 0.28
    off = limiter(enabled=False)
    t0 = time.monotonic()
    for _ in range(100):
        off.acquire("slow")
    assert time.monotonic() - t0 < 0.1


def test_limiter_slows_down_after_rejection_and_recovers():
    rl = limiter()
    assert rl.rate("fast") == pytest.approx(47.5)
    rl.on_rejected("fast")
    rl.on_rejected("fast")  # same burst: counted once
    assert rl.rate("fast") == pytest.approx(47.5 * 0.7, rel=0.02)
    assert rl.rate("slow") == pytest.approx(4.75)
    now = time.monotonic()
    assert rl.factor("fast", now + 1.0) == pytest.approx(0.9, abs=0.02)
    assert rl.factor("fast", now + 2.0) == 1.0
