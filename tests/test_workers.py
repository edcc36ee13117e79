"""``rag serve --workers N``: processes that share the port, load before they take connections
and follow an index rebuilt by another process; shedding stays bounded in each."""

from __future__ import annotations

import os
import shutil
import threading
import time

import httpx
import pytest

from rag.bench import descendants, served
from rag.deps import Runtime
from rag.limits import worker_protocol
from rag.server import create_app

from .conftest import running


def versioned_copies(settings, tmp_path) -> tuple:
    """Two copies of the hashing index and a link ``index`` pointing at the first."""
    source = settings.index_dir.resolve()
    first, second = tmp_path / "index.v-1", tmp_path / "index.v-2"
    shutil.copytree(source, first)
    shutil.copytree(source, second)
    link = tmp_path / "index"
    link.symlink_to(first.name)
    return link, first, second


def test_workers_follow_an_index_relinked_by_another_process(hashing_settings, tmp_path):
    link, first, second = versioned_copies(hashing_settings, tmp_path)
    runtime = Runtime(hashing_settings.with_(index_dir=link, workers=2))
    runtime.load()
    old = runtime.require()
    assert runtime.loaded_from == first
    link.unlink()
    link.symlink_to(second.name)  # what an ingest in another process does
    runtime.checked -= 5  # the next request is due a look
    assert runtime.require() is old  # answered from the index in hand meanwhile
    deadline = time.monotonic() + 30
    while runtime.loaded_from != second and time.monotonic() < deadline:
        time.sleep(0.05)
    assert runtime.loaded_from == second and runtime.require() is not old


def test_a_single_server_does_not_watch_the_link(hashing_settings, tmp_path):
    link, first, second = versioned_copies(hashing_settings, tmp_path)
    runtime = Runtime(hashing_settings.with_(index_dir=link, workers=1))
    runtime.load()
    old = runtime.require()
    link.unlink()
    link.symlink_to(second.name)
    runtime.checked -= 5
    time.sleep(0.2)
    assert runtime.require() is old and runtime.loaded_from == first


def test_load_first_loads_before_the_first_request_is_taken(hashing_settings):
    app = create_app(hashing_settings, load_first=True)
    with running(app) as base:  # returns once uvicorn started, i.e. after the lifespan
        assert app.state.runtime.engine is not None
        assert httpx.get(f"{base}/healthz", timeout=10).status_code == 200


def test_worker_protocol_reads_its_bounds_from_the_environment(monkeypatch):
    from rag import limits

    monkeypatch.setenv("RAG_HEAD_TIMEOUT", "3.5")
    monkeypatch.setenv("RAG_MAX_CONNECTIONS", "7")
    limits.environment_protocol.cache_clear()
    try:
        cls = limits.environment_protocol()
        assert cls.head_timeout == 3.5 and cls.max_connections == 7
        assert issubclass(cls, limits.BoundedH11Protocol) and callable(worker_protocol)
    finally:
        limits.environment_protocol.cache_clear()


def test_two_workers_answer_on_one_port(hashing_settings, monkeypatch):
    monkeypatch.setenv("RAG_EMBEDDER", "hashing")
    with served(hashing_settings.with_(workers=2)) as server:
        workers = [p for p in descendants(server.pid) if _is_worker(p)]
        assert len(workers) == 2
        statuses = []

        def ask() -> None:  # fresh connections: the kernel hands them to either worker
            r = httpx.post(f"{server.base}/api/ask", json={"question": "医保结算"}, timeout=30)
            statuses.append(r.status_code)

        threads = [threading.Thread(target=ask) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert statuses == [200] * 8


def _is_worker(pid: int) -> bool:
    """uvicorn's spawned workers (not multiprocessing's resource tracker)."""
    try:
        command = open(f"/proc/{pid}/cmdline", "rb").read()
    except OSError:
        return False
    return b"multiprocessing.spawn" in command and b"resource_tracker" not in command


@pytest.mark.parametrize("value", ["0", "33"])
def test_worker_count_out_of_range_is_refused(rag_here, value, tmp_path):
    env = {"RAG_WORKERS": value, "RAG_STATE_DIR": str(tmp_path)}
    result = rag_here("serve", "--port", "1", env=env)
    assert result.returncode == 1 and "RAG_WORKERS" in result.stderr


def test_descendants_and_their_cpu_and_memory_are_counted():
    import subprocess
    import sys

    from rag.bench import process_cpu_s, process_memory

    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        deadline = time.monotonic() + 10
        while child.pid not in descendants(os.getpid()) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert child.pid in descendants(os.getpid())
        alone = process_memory(child.pid)["VmRSS"]
        together = process_memory(os.getpid())["VmRSS"]
        assert together > alone > 0
        assert process_cpu_s(os.getpid()) >= process_cpu_s(child.pid) >= 0
    finally:
        child.kill()
        child.wait()
