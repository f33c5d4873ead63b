"""The shared token: one per key across threads and processes (no HTTP: a fake token fetch)."""

from __future__ import annotations

import multiprocessing as mp
import os
import stat
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from pipelines.core.tokens import FileTokenStore, MemoryTokenStore, Token, TokenProvider, refresh_margin_s


class FakeFetch:
    """Issues tok-1, tok-2, ... and counts the calls (thread-safe; optionally slow)."""

    def __init__(self, expires_s: float = 7200, delay_s: float = 0.0):
        self.n = 0
        self.expires_s = expires_s
        self.delay_s = delay_s
        self.lock = threading.Lock()

    def __call__(self):
        time.sleep(self.delay_s)
        with self.lock:
            self.n += 1
            return f"tok-{self.n}-{'x' * 20}", self.expires_s


def provider(tmp_path: Path, fetch, key="saj\napp1\nhttp://h/prod-api") -> TokenProvider:
    return TokenProvider(key, fetch, FileTokenStore(tmp_path / "cache"), label="test")


def test_token_cached_and_file_private(tmp_path):
    f = FakeFetch()
    p = provider(tmp_path, f)
    t = p.get()
    assert t.startswith("tok-1") and p.get() == t and f.n == 1
    path = p.store.path(p.key)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    assert t not in repr(p) and t not in repr(Token(t, time.time(), 10))
    # a second provider (another process, in effect) reuses the stored token
    f2 = FakeFetch()
    assert provider(tmp_path, f2).get() == t and f2.n == 0


def test_each_key_has_its_own_file_and_no_name_in_it(tmp_path):
    keys = ["saj\napp1\nhttp://h", "saj\napp2\nhttp://h", "saj\napp1\nhttp://other", "sma\napp1\nhttp://h"]
    paths = {provider(tmp_path, FakeFetch(), key).store.path(key) for key in keys}
    assert len(paths) == 4 and not any("app1" in p.name for p in paths)


def test_memory_store_shares_within_a_process():
    store, f = MemoryTokenStore(), FakeFetch()
    a, b = TokenProvider("k", f, store), TokenProvider("k", f, store)
    bad = a.get()
    assert b.get() == bad and f.n == 1
    new = b.invalidate(bad)
    assert new != bad and a.get() == new and f.n == 2  # a sees b's refresh without fetching


def test_refresh_before_expiry(tmp_path):
    f = FakeFetch(expires_s=1.0)  # margin 0.1 s
    p = provider(tmp_path, f)
    t1 = p.get()
    assert p.get() == t1
    time.sleep(0.95)
    t2 = p.get()
    assert t2 != t1 and f.n == 2


def test_margin():
    assert (
        refresh_margin_s(7200) == 300 and refresh_margin_s(28800) == 300 and refresh_margin_s(2) == pytest.approx(0.2)
    )
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

    def fetch():
        fd = os.open(counter, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        os.write(fd, b"x")
        os.close(fd)
        time.sleep(0.05)
        return f"tok-{os.getpid()}-{time.time_ns()}", 7200

    p = TokenProvider("saj\napp1", fetch, FileTokenStore(cache_dir))
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
