"""``rag bench``: speed and size, measured in one run and printed (never asserted in tests).

Timings on shared machines are noisy; compare the numbers of one run with each other.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rag.engine import Engine, ingest
from rag.settings import Settings


@dataclass(frozen=True)
class Timing:
    name: str
    values_ms: list[float]

    @property
    def p50(self) -> float:
        return statistics.median(self.values_ms)

    @property
    def p95(self) -> float:
        ordered = sorted(self.values_ms)
        return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def timed(fn: Callable[[], object]) -> float:
    """Milliseconds one call takes."""
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def sample_questions(engine: Engine, n: int) -> list[str]:
    """Clause titles spread over the corpus: realistic, deterministic, no hand-made list."""
    titles = [c.title for t in engine.index.trees.values() for c in t.clauses if len(c.title) >= 4]
    step = max(1, len(titles) // n)
    return (titles[::step] * n)[:n]


def bench_ingest(settings: Settings, cold_cache: bool) -> dict[str, float]:
    """Seconds for a cold build (fresh model cache: includes conversion) and a warm one."""
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        cache = root / "model-cache" if cold_cache else settings.model_cache
        fresh = settings.with_(index_dir=root / "index", model_cache=cache)
        label = "cold (model converted, all chunks embedded)" if cold_cache else "warm build"
        results[label] = timed(lambda: ingest(fresh)) / 1000
        if cold_cache:
            rebuilt = fresh.with_(index_dir=root / "index2")
            results["warm build (model cached, all chunks embedded)"] = (
                timed(lambda: ingest(rebuilt)) / 1000
            )
        results["no-op (nothing changed)"] = timed(lambda: ingest(fresh)) / 1000
    return results


def bench_search(engine: Engine, questions: list[str]) -> list[Timing]:
    timings = []
    for mode in ("hybrid", "bm25", "dense"):
        values = [timed(lambda q=q: engine.retriever.search(q, k=5, mode=mode)) for q in questions]
        timings.append(Timing(f"search {mode}", values))
    return timings


def index_size(index_dir: Path) -> int:
    return sum(p.stat().st_size for p in index_dir.rglob("*") if p.is_file())


def bench_ask(engine: Engine, questions: list[str]) -> Timing:
    return Timing("ask (in process)", [timed(lambda q=q: engine.ask(q)) for q in questions])


def bench_server(settings: Settings, questions: list[str]) -> tuple[float, Timing]:
    """Start ``rag serve`` on a free loopback port; seconds until /healthz is ready, then the
    latency of sequential ``POST /api/ask`` requests."""
    import os
    import socket
    import subprocess
    import sys

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    state = tempfile.mkdtemp()  # no API keys: the bench measures answering, not auth
    env = {**os.environ, "RAG_INDEX_DIR": str(settings.index_dir), "RAG_STATE_DIR": state}
    command = [sys.executable, "-m", "rag", "serve", "--port", str(port)]
    started = time.perf_counter()
    server = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=30) as client:
            deadline = time.perf_counter() + 300
            while True:
                if server.poll() is not None or time.perf_counter() > deadline:
                    raise RuntimeError(f"rag serve did not become ready ({server.returncode})")
                try:
                    if client.get("/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.05)
            ready = time.perf_counter() - started
            values = [
                timed(lambda q=q: client.post("/api/ask", json={"question": q}).raise_for_status())
                for q in questions
            ]
    finally:
        server.terminate()
        server.wait(timeout=10)
    return ready, Timing(f"POST /api/ask (n={len(values)})", values)
