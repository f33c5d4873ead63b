"""clientSign vectors and the shared token cache (no HTTP: a fake token fetch)."""

from __future__ import annotations

import multiprocessing as mp
import os
import stat
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from pipelines.auth import Token, TokenProvider, refresh_margin_s, sign

# The guide's vectors (saj-upload-data-guide.md in the shared API documents)
VECTORS = [
    ("VH_ExampleApp", "M2S4182G2349E02268", "54f0f2d6e083554eae2f5782ad3bece0a054d44c400bcbb853490c49c8058c24"),
    ("VH_ExampleApp", "R5X2602J2516E27344", "e27abb3873658ed95fe1bffad6e286ae086c8a5c351567efabe4c2f6e7bb1ce4"),
]


@pytest.mark.parametrize("app_id,sn,expected", VECTORS)
def test_sign_vectors(app_id, sn, expected):
    assert sign(app_id, sn) == expected


def test_sign_is_case_sensitive_and_exact():
    assert sign("VH_ExampleApp", "m2s4182g2349e02268") != VECTORS[0][2]
    assert sign("VH_ExampleApp ", "M2S4182G2349E02268") != VECTORS[0][2]


class FakeFetch:
    """Issues tok-1, tok-2, ... and counts the calls (thread-safe; optionally slow)."""

    def __init__(self, expires_s: float = 7200, delay_s: float = 0.0):
        self.n = 0
        self.expires_s = expires_s
        self.delay_s = delay_s
        self.lock = threading.Lock()

    def __call__(self, app_id, app_secret):
        assert app_secret == "s3cret-value"
        time.sleep(self.delay_s)
        with self.lock:
            self.n += 1
            return f"tok-{self.n}-{'x' * 20}", self.expires_s


def provider(tmp_path: Path, fetch, app_id="app1", base_url="http://h/prod-api") -> TokenProvider:
    return TokenProvider(app_id, "s3cret-value", base_url, tmp_path / "cache", fetcher=fetch)


def test_token_cached_and_file_private(tmp_path):
    f = FakeFetch()
    p = provider(tmp_path, f)
    t = p.get()
    assert t.startswith("tok-1") and p.get() == t and f.n == 1
    mode = stat.S_IMODE(os.stat(p.cache_path).st_mode)
    assert mode == 0o600
    assert "s3cret-value" not in p.cache_path.read_text()
    assert "s3cret" not in repr(p) and t not in repr(p)
    # a second provider (another process, in effect) reuses the cached token
    f2 = FakeFetch()
    assert provider(tmp_path, f2).get() == t and f2.n == 0


def test_cache_file_name_depends_on_app_and_base_url(tmp_path):
    a = provider(tmp_path, FakeFetch())
    b = provider(tmp_path, FakeFetch(), app_id="app2")
    c = provider(tmp_path, FakeFetch(), base_url="http://other/prod-api")
    assert len({a.cache_path, b.cache_path, c.cache_path}) == 3
    assert "app1" not in a.cache_path.name


def test_refresh_before_expiry(tmp_path):
    f = FakeFetch(expires_s=1.0)  # margin 0.1 s
    p = provider(tmp_path, f)
    t1 = p.get()
    assert p.get() == t1
    time.sleep(0.95)
    t2 = p.get()
    assert t2 != t1 and f.n == 2


def test_margin():
    assert refresh_margin_s(7200) == 300 and refresh_margin_s(28800) == 300 and refresh_margin_s(2) == pytest.approx(0.2)
    assert Token("x", time.time(), 7200).fresh() and not Token("x", time.time() - 7000, 7200).fresh()


def test_invalidate_refreshes_only_the_bad_token_once(tmp_path):
    f = FakeFetch(delay_s=0.05)
    p = provider(tmp_path, f)
    bad = p.get()
    with ThreadPoolExecutor(16) as pool:
        new = set(pool.map(lambda _: p.invalidate(bad), range(64)))
    assert len(new) == 1 and bad not in new and f.n == 2  # one refresh for 64 complaints
    # invalidating a token that was already replaced is a no-op
    assert p.invalidate(bad) == new.pop() and f.n == 2


def test_concurrent_first_get_one_fetch(tmp_path):
    f = FakeFetch(delay_s=0.1)
    p = provider(tmp_path, f)
    with ThreadPoolExecutor(16) as pool:
        tokens = set(pool.map(lambda _: p.get(), range(32)))
    assert len(tokens) == 1 and f.n == 1


def test_other_process_refresh_is_picked_up(tmp_path):
    f1, f2 = FakeFetch(), FakeFetch()
    p1, p2 = provider(tmp_path, f1), provider(tmp_path, f2)
    t = p1.get()
    assert p2.get() == t
    f2.n = 10
    t_new = p2.invalidate(t)  # p2 refreshes
    time.sleep(0.01)
    assert p1.get() == t_new and f1.n == 1  # p1 notices the new cache file without a call


def _proc_worker(cache_dir: str, counter: str, rounds: int, q) -> None:
    """In a child process: get a token repeatedly, invalidating now and then."""

    def fetch(app_id, secret):
        fd = os.open(counter, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        os.write(fd, b"x")
        os.close(fd)
        time.sleep(0.05)
        return f"tok-{os.getpid()}-{time.time_ns()}", 7200

    p = TokenProvider("app1", "s3cret-value", "http://h/prod-api", cache_dir, fetcher=fetch)
    seen = set()
    for _ in range(rounds):
        seen.add(p.get())
    q.put(len(seen))


def test_processes_share_one_token(tmp_path):
    counter = str(tmp_path / "fetches")
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    procs = [ctx.Process(target=_proc_worker, args=(str(tmp_path / "cache"), counter, 200, q)) for _ in range(4)]
    for pr in procs:
        pr.start()
    for pr in procs:
        pr.join(30)
        assert pr.exitcode == 0
    assert [q.get(timeout=5) for _ in procs] == [1, 1, 1, 1]
    assert Path(counter).read_bytes() == b"x"  # exactly one fetch fleet-wide
