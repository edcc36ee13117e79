"""``rag bench``: speed and size, measured in one run and printed (never asserted in tests).

Timings on shared machines are noisy; compare the numbers of one run with each other.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from rag.engine import Engine, ingest
from rag.index import Index
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
        return percentile(self.values_ms, 0.95) or 0.0


def timed(fn: Callable[[], object]) -> float:
    """Milliseconds one call takes."""
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def sample_questions(index: Index, n: int) -> list[str]:
    """Clause titles spread over the corpus: realistic, deterministic, no hand-made list."""
    titles = [c.title for t in index.trees.values() for c in t.clauses if len(c.title) >= 4]
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


@dataclass(frozen=True)
class Served:
    """A running ``rag serve`` subprocess: where it listens, its pid, how long it took."""

    base: str
    pid: int
    ready_s: float


@contextmanager
def served(settings: Settings, timeout: float = 300) -> Iterator[Served]:
    """``rag serve`` (``settings.workers`` processes) on a free loopback port, with no API keys,
    stopped on exit; yields once /healthz says ready, from every worker as far as can be told
    (workers share the port: ``ready_checks`` answers in a row on fresh connections)."""
    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with tempfile.TemporaryDirectory() as state:  # no API keys: measure answering, not auth
        env = {
            **os.environ,
            "RAG_INDEX_DIR": str(settings.index_dir),
            "RAG_STATE_DIR": state,
            "RAG_WORKERS": str(settings.workers),
        }
        command = [sys.executable, "-m", "rag", "serve", "--port", str(port)]
        started = time.perf_counter()
        server = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline, in_a_row = time.perf_counter() + timeout, 0
            while in_a_row < ready_checks(settings.workers):
                if server.poll() is not None or time.perf_counter() > deadline:
                    raise RuntimeError(f"rag serve did not become ready ({server.returncode})")
                try:  # a fresh connection each time, so any worker may take it
                    ok = httpx.get(f"{base}/healthz", timeout=30).status_code == 200
                except httpx.TransportError:
                    ok = False
                in_a_row = in_a_row + 1 if ok else 0
                if not ok:
                    time.sleep(0.05)
            yield Served(base, server.pid, time.perf_counter() - started)
        finally:
            _stop(server, 10)


def ready_checks(workers: int) -> int:
    """Answers from /healthz in a row that make it very likely every worker is ready: the
    kernel hands each new connection to any worker, so one not yet ready is missed by ``n``
    checks with probability (1 - 1/workers)^n, under e^-8 here.

    >>> ready_checks(1), ready_checks(3)
    (1, 24)
    """
    return 1 if workers <= 1 else 8 * workers


def bench_server(settings: Settings, questions: list[str]) -> tuple[float, Timing]:
    """Seconds until a fresh ``rag serve`` is ready, then the latency of sequential
    ``POST /api/ask`` requests."""
    import httpx

    with served(settings) as server, httpx.Client(base_url=server.base, timeout=30) as client:
        values = [
            timed(lambda q=q: client.post("/api/ask", json={"question": q}).raise_for_status())
            for q in questions
        ]
    return server.ready_s, Timing(f"POST /api/ask (n={len(values)})", values)


@dataclass(frozen=True)
class Load:
    """What ``concurrency`` clients got from the server: statuses, latencies, memory."""

    concurrency: int
    seconds: float
    statuses: dict[int, int]  # HTTP status → count; 0 = no response (connection error)
    ok_ms: list[float]  # latency of the answered (2xx) requests
    memory_kib: dict[str, int]  # the server's VmRSS / VmHWM after the run
    server_cpu_s: float = 0.0  # CPU seconds the server's processes used during the run
    client_cpu_s: float = 0.0  # … and this process (the clients)
    shed_ms: list[float] = field(default_factory=list)  # latency of the 503 answers

    @property
    def count(self) -> int:
        return sum(self.statuses.values())

    @property
    def shed(self) -> int:
        return self.statuses.get(503, 0)

    @property
    def errors(self) -> int:
        return self.count - len(self.ok_ms) - self.shed

    @property
    def cpu_ms(self) -> float:
        """Server CPU per request: unlike req/s, it hardly depends on what else the machine
        runs, so runs on a shared machine compare by it."""
        return 1000 * self.server_cpu_s / max(1, self.count)


def ask_sequentially(
    client, questions: list[str], requests: int, seconds: float, until: Callable[[], bool]
) -> list[float]:
    """Milliseconds of answered ``POST /api/ask`` requests sent one after another, until
    ``requests`` were sent, ``seconds`` passed or ``until()`` says stop."""
    values: list[float] = []
    deadline = time.perf_counter() + seconds
    for n in range(requests):
        if time.perf_counter() > deadline or until():
            break
        t0 = time.perf_counter()
        if client.post("/api/ask", json={"question": questions[n % len(questions)]}).is_success:
            values.append((time.perf_counter() - t0) * 1000)
    return values


def ingest_sources(settings: Settings) -> Path:
    """What "ask during ingest" ingests: the dev corpus of a source checkout (46 real documents
    of every format), else the configured corpus."""
    dev = Path(__file__).resolve().parent.parent / "eval" / "dev" / "corpus"
    return dev if dev.is_dir() else settings.corpus_dir


def bench_during_ingest(
    settings: Settings, corpus: Path, requests: int = 400, seconds: float = 30.0
) -> dict:
    """``POST /api/ask`` latency of a fresh ``rag serve``, quiet and then while ``rag ingest``
    builds ``corpus`` into a temporary folder in a separate process at ``RAG_INGEST_NICE``
    (reading and chunking too, not only its embedding, which lowers itself further): quiet for
    at most ``requests`` requests or ``seconds``, then for ``seconds`` or until the ingest ends,
    whichever comes first; the ingest is stopped afterwards."""
    import httpx

    questions = sample_questions(Index.load(settings.index_dir), 200)
    result: dict = {"corpus": str(corpus), "ingest_nice": settings.ingest_nice}
    with (
        served(settings) as server,
        httpx.Client(base_url=server.base, timeout=60) as client,
        tempfile.TemporaryDirectory() as tmp,
    ):
        ask_sequentially(client, questions, 20, seconds, lambda: False)  # warm
        quiet = ask_sequentially(client, questions, requests, seconds, lambda: False)
        command = [sys.executable, "-m", "rag", "ingest", "--corpus", str(corpus)]
        command += ["--index", str(Path(tmp) / "index")]
        started = time.perf_counter()
        nice = max(0, settings.ingest_nice)
        ingest_run = subprocess.Popen(
            command,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=lambda: os.nice(nice),  # a rebuild next to a server runs at this level
        )
        try:
            finished = lambda: ingest_run.poll() is not None  # noqa: E731
            # for the whole time (not ``requests``): reading, chunking and embedding all count
            during = ask_sequentially(client, questions, 10**9, seconds, finished)
            result["ingest_finished"] = finished()
        finally:
            result["ingest_s"] = round(time.perf_counter() - started, 1)
            _stop(ingest_run, 30)
    for name, values in (("quiet", quiet), ("during ingest", during)):
        t = Timing(name, values or [float("nan")])
        result[name] = {"p50_ms": round(t.p50, 2), "p95_ms": round(t.p95, 2), "n": len(values)}
    result["p50_ratio"] = round(result["during ingest"]["p50_ms"] / result["quiet"]["p50_ms"], 2)
    result["p95_ratio"] = round(result["during ingest"]["p95_ms"] / result["quiet"]["p95_ms"], 2)
    return result


def run_load(
    base: str, pid: int, questions: list[str], concurrency: int, requests: int, seconds: float
) -> Load:
    """``concurrency`` clients send ``POST /api/ask`` until ``requests`` were sent or
    ``seconds`` passed, whichever comes first.

    A client told 503 waits its ``Retry-After`` and up to half as long again (within
    ``seconds``) before asking again, as a polite client does. The clients are coroutines on
    one event loop in a thread of their own, over plain keep-alive HTTP/1.1: at c = 256, 256
    client threads measured their own wait for the GIL (seconds) as server latency."""
    result: list[Load] = []
    thread = threading.Thread(
        target=lambda: result.append(
            asyncio.run(_load(base, pid, questions, concurrency, requests, seconds))
        ),
        name="load",
    )
    thread.start()
    thread.join()
    return result[0]


async def _load(
    base: str, pid: int, questions: list[str], concurrency: int, requests: int, seconds: float
) -> Load:
    host, _, port = base.removeprefix("http://").partition(":")
    bodies = [json.dumps({"question": q}).encode() for q in questions]
    sent = 0
    statuses: Counter[int] = Counter()
    ok_ms: list[float] = []
    shed_ms: list[float] = []
    server_cpu, client_cpu = process_cpu_s(pid), time.process_time()
    started = time.perf_counter()
    deadline = started + seconds

    async def client(n: int) -> None:
        nonlocal sent
        jitter = random.Random(n)
        connection: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        while sent < requests and time.perf_counter() <= deadline:
            body = bodies[sent % len(bodies)]
            sent += 1
            t0 = time.perf_counter()
            try:
                if connection is None:
                    connection = await asyncio.open_connection(host, int(port))
                status, keep, later = await asyncio.wait_for(_post(*connection, host, body), 60)
            except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError):
                status, keep, later = 0, False, 0.0
            statuses[status] += 1
            ms = (time.perf_counter() - t0) * 1000
            (ok_ms if 200 <= status < 300 else shed_ms if status == 503 else []).append(ms)
            if not keep and connection is not None:
                connection[1].close()
                connection = None
            if later:  # a flood ignoring it measures 503s only; unjittered, all come back at once
                later *= 1 + jitter.random() / 2
                await asyncio.sleep(min(later, max(0.0, deadline - time.perf_counter())))
        if connection is not None:
            connection[1].close()

    await asyncio.gather(*(client(n) for n in range(concurrency)))
    elapsed = time.perf_counter() - started
    server_cpu, client_cpu = process_cpu_s(pid) - server_cpu, time.process_time() - client_cpu
    memory = process_memory(pid)
    return Load(
        concurrency, elapsed, dict(statuses), ok_ms, memory, server_cpu, client_cpu, shed_ms
    )


async def _post(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str, body: bytes
) -> tuple[int, bool, float]:
    """One ``POST /api/ask``: the status, whether the connection may be used again, and the
    seconds ``Retry-After`` asks to wait (0 if none)."""
    head = (
        f"POST /api/ask HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    writer.write(head.encode("latin-1") + body)
    await writer.drain()
    lines = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    fields = dict(line.lower().split(": ", 1) for line in lines[1:] if ": " in line)
    later = float(fields.get("retry-after", "0")[:8]) if status == 503 else 0.0
    if "content-length" not in fields:  # not what the server sends; read to the end
        await reader.read()
        return status, False, later
    await reader.readexactly(int(fields["content-length"]))
    return status, fields.get("connection") != "close", later


def process_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a process and its descendants have used so far."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for p in [pid, *descendants(pid)]:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / ticks


def process_memory(pid: int) -> dict[str, int]:
    """VmRSS (now) and VmHWM (peak) in KiB, summed over a process and its descendants (the
    workers of ``rag serve --workers N``), and Pss, which counts pages the processes share
    (the memory-mapped model and index) once; from /proc (psutil is not installed)."""
    found: Counter[str] = Counter()
    for p in [pid, *descendants(pid)]:
        for path, names in (
            (f"/proc/{p}/status", ("VmRSS", "VmHWM")),
            (f"/proc/{p}/smaps_rollup", ("Pss",)),
        ):
            try:
                with open(path) as f:
                    for line in f:
                        name, _, rest = line.partition(":")
                        if name in names:
                            found[name] += int(rest.split()[0])
            except (OSError, ValueError, IndexError):
                pass
    return {name: found[name] for name in ("VmRSS", "VmHWM", "Pss") if name in found}


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (children, their children…), from /proc."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rpartition(")")[2].split()[1])  # the name may hold spaces or ")"
        parents.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        children = parents.get(todo.pop(), [])
        found += children
        todo += children
    return found


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile; None for no values.

    >>> percentile([5.0, 1.0, 3.0, 2.0, 4.0], 0.5), percentile([], 0.9)
    (3.0, None)
    """
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def bench_sources(settings: Settings) -> list[Path]:
    """Where ``--chunks`` corpora come from: the bundled corpus and the dev corpus of a source
    checkout, else the configured corpus folder."""
    repo = Path(__file__).resolve().parent.parent
    found = [p for p in (repo / "corpus", repo / "eval" / "dev" / "corpus") if p.is_dir()]
    return found or [settings.corpus_dir]


def bench_corpus(sources: list[Path], target: Path, chunks: int, settings: Settings) -> int:
    """About ``chunks`` chunks of real documents written as .txt files into ``target``: the
    sources' documents in turn, then again under a numbered title, so every copy's passages
    differ (identical texts would be embedded once). Returns how many chunks that makes."""
    from rag.chunk import chunk_tree
    from rag.corpus import read_corpus
    from rag.models import cl100k

    encoding = cl100k(settings.model_cache)
    trees = [t for source in sources for t in read_corpus(source)[0]]
    if not trees:
        raise RuntimeError(f"no readable documents in {', '.join(map(str, sources))}")
    sizes = [
        len(
            chunk_tree(
                t,
                lambda s: len(encoding.encode(s, disallowed_special=())),
                settings.max_tokens,
                settings.merge_below,
            )
        )
        for t in trees
    ]
    target.mkdir(parents=True, exist_ok=True)
    made, copy = 0, 0
    while made < chunks:
        for tree, size in zip(trees, sizes, strict=True):
            if made >= chunks:
                break
            lines = tree.doc.text.split("\n")
            if lines[0].strip() != tree.doc.title.strip():
                lines.insert(0, tree.doc.title)
            if copy:
                lines[0] = f"{lines[0]}（副本{copy}）"
            name = f"c{copy:03d}_{tree.doc.doc_id}.txt"
            (target / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
            made += size
        copy += 1
    return made


def peak_rss_kib() -> int:
    """This process's peak resident memory so far, in KiB."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _in_thread(fn: Callable[[], object]) -> tuple[object, float]:
    """``fn()`` in a worker thread, and its seconds: ingest lowers its own thread's priority
    (``ingest_nice``), which must not slow the query timings taken afterwards."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        start = time.perf_counter()
        value = pool.submit(fn).result()
        return value, time.perf_counter() - start


REAL_INGEST_UP_TO = 2000  # chunks; beyond, e5 would embed for hours: a stand-in fills the index


class StandInEmbedder:
    """e5's model id and dimension with a pseudo-random unit vector per text (seeded by the
    text's hash; microseconds per text), so ``rag bench --chunks 100000`` builds an index of
    the real shape in minutes and questions are embedded by the real model (``Engine.load``
    takes the model from the manifest). Rankings are meaningless; costs are the real ones."""

    prompts: dict[str, str] = {}

    def __init__(self) -> None:
        from rag.e5_convert import PROMPTS
        from rag.models import E5_MODEL_ID

        self.model_id, self.dimension, self.prompts = E5_MODEL_ID, 384, PROMPTS

    def embed_documents(self, texts: list[str]):
        import hashlib

        import numpy as np

        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            seed = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")
            out[row] = np.random.default_rng(seed).standard_normal(self.dimension)
        return out / np.linalg.norm(out, axis=1, keepdims=True)

    def embed_query(self, text: str):
        return self.embed_documents([text])[0]


def bench_chunks(
    settings: Settings,
    chunks: int,
    queries: int = 50,
    server: bool = True,
    note: Callable[[str], None] = lambda message: None,
    sources: list[Path] | None = None,
) -> dict:
    """Ingest ~``chunks`` chunks with the hashing embedder and with ``settings.embedder``, then
    time questions in process and (``server``) how long ``rag serve`` takes to be ready. Over
    ``REAL_INGEST_UP_TO`` chunks the e5 index is filled by ``StandInEmbedder`` instead (and
    the hashing ingest, pure Python, is skipped), so 100k chunks take minutes, not hours."""
    from rag.embed import E5Embedder, make_embedder

    result: dict = {"chunks_requested": chunks, "cpu_count": os.cpu_count()}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        note("writing the corpus…")
        result["chunks"] = bench_corpus(
            sources or bench_sources(settings), root / "corpus", chunks, settings
        )
        stand_in = chunks > REAL_INGEST_UP_TO and settings.embedder != "hashing"
        names = [settings.embedder] if stand_in else ["hashing", settings.embedder]
        built: dict[str, Settings] = {}
        for name in dict.fromkeys(names):
            note(f"ingest with {'a stand-in for ' * stand_in}{name}…")
            s = settings.with_(corpus_dir=root / "corpus", index_dir=root / name, embedder=name)
            embedder = StandInEmbedder() if stand_in else make_embedder(name, s.model_cache, s)
            name = "stand-in" if stand_in else name
            report, seconds = _in_thread(lambda s=s, e=embedder: ingest(s, embedder=e))
            result[f"ingest_{name}"] = {
                "seconds": round(seconds, 2),
                "embedded": report.embedded,
                "passages_per_s": round(report.embedded / seconds, 1),
                "index_mb": round(index_size(s.index_dir) / 1e6, 2),
            }
            built[settings.embedder if stand_in else name] = s
        s = built[settings.embedder]
        engine = Engine.load(s)
        questions = sample_questions(engine.index, queries)
        timings = [bench_ask(engine, questions)]
        if isinstance(engine.embedder, E5Embedder):
            for threads in (1, 2):
                e = make_embedder(s.embedder, s.model_cache, s.with_(query_threads=threads))
                e.embed_query("预热")
                values = [timed(lambda q=q, e=e: e.embed_query(q)) for q in questions]
                timings.append(
                    Timing(f"query embedding ({threads} thread{'s' * (threads > 1)})", values)
                )
        else:
            values = [timed(lambda q=q: engine.embedder.embed_query(q)) for q in questions]
            timings.append(Timing("query embedding", values))
        result["queries"] = {
            t.name: {"p50_ms": round(t.p50, 2), "p95_ms": round(t.p95, 2), "n": len(t.values_ms)}
            for t in timings
        }
        result["peak_rss_mib"] = round(peak_rss_kib() / 1024, 1)
        if server:
            note("starting rag serve…")
            with served(s) as running:
                memory = process_memory(running.pid)
            result["serve"] = {
                "ready_s": round(running.ready_s, 2),
                "rss_mib": round(memory.get("VmRSS", 0) / 1024, 1),
            }
    return result


def chunks_table(result: dict) -> str:
    """``bench_chunks``' result as aligned lines of text."""
    lines = [
        f"corpus {result['chunks']} chunks (asked for {result['chunks_requested']}), "
        f"{result['cpu_count']} CPUs"
    ]
    for key, r in result.items():
        if key.startswith("ingest_"):
            lines.append(
                f"ingest {key[7:]:<10} {r['passages_per_s']:8.1f} passages/s   "
                f"{r['embedded']} embedded in {r['seconds']:.1f} s   "
                f"index {r['index_mb']:.2f} MB"
            )
    for name, q in result["queries"].items():
        lines.append(
            f"{name:<28} p50 {q['p50_ms']:7.1f} ms   p95 {q['p95_ms']:7.1f} ms   (n={q['n']})"
        )
    lines.append(f"peak RSS (this process) {result['peak_rss_mib']:.0f} MiB")
    if "serve" in result:
        lines.append(
            f"rag serve ready {result['serve']['ready_s']:.1f} s after start, "
            f"RSS {result['serve']['rss_mib']:.0f} MiB"
        )
    return "\n".join(lines)


def _stop(process: subprocess.Popen, timeout: float) -> None:
    """Ask a child to stop, and kill it if it has not within ``timeout`` seconds."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout)
