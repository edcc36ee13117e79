"""Shared fixtures. Indexes are built in temporary folders; nothing is written into the repo.

Expensive things are built once per session and shared read-only: the bundled corpus's index
(``hashing_settings``), prebuilt indexes of a few bundled documents that a test copies before it
changes anything (``prebuilt``, ``library_copy``), and the dev documents as read by
``rag.normalize.read_document`` (``dev_read``).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

# Compiled modules and pytest's rewritten test modules are cached even where the environment
# says not to write bytecode (PYTHONDONTWRITEBYTECODE, as on our shared machine): re-parsing and
# rewriting the ~50 test modules cost 1.3 CPU-s of every run. They go to a folder of their own
# under the temporary directory, never into the repo, and only when the environment forbade them.
if sys.dont_write_bytecode:
    sys.pycache_prefix = sys.pycache_prefix or str(Path(tempfile.gettempdir()) / "rag-pycache")
    sys.dont_write_bytecode = False

import functools
import os
import shutil
import socket
import subprocess
import threading
import time
from contextlib import contextmanager
from typing import NamedTuple

import faiss
import pytest

from rag.clauses import parse_clauses
from rag.embed import HashingEmbedder
from rag.engine import Engine, ingest
from rag.models import cl100k
from rag.normalize import read_document
from rag.settings import Settings
from rag.types import ClauseTree, Document

# Temporary folders in memory where the machine has /dev/shm: the index writes, SQLite stores and
# fsyncs of hundreds of tests then cost no disk flush (10x faster on a busy disk). Unless told
# otherwise: --basetemp or PYTEST_DEBUG_TEMPROOT still win.
SHM = Path("/dev/shm")
if "PYTEST_DEBUG_TEMPROOT" not in os.environ and SHM.is_dir() and os.access(SHM, os.W_OK):
    os.environ["PYTEST_DEBUG_TEMPROOT"] = str(SHM)

# One FAISS (OpenMP) thread: the indexes under test are a few thousand vectors at most, and on a
# busy 2-core machine OpenMP's spinning workers made an HNSW build 4x slower, not faster.
faiss.omp_set_num_threads(1)

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "corpus"
DOC = {  # the bundled documents by their short number
    n: next(CORPUS.glob(f"{n}_*.txt")).stem for n in ("000", "001", "002", "003", "004")
}
DEV_CORPUS = REPO / "eval" / "dev" / "corpus"  # 46 real documents (eval/dev/SOURCES.md)


@pytest.fixture(scope="session")
def count_tokens():
    """cl100k token counts, remembered: the chunking tests count the same texts many times."""
    encoding = cl100k(Settings().model_cache)

    @functools.lru_cache(maxsize=1 << 16)
    def count(text: str) -> int:
        return len(encoding.encode(text, disallowed_special=()))

    return count


@pytest.fixture(scope="session")
def trees() -> dict[str, ClauseTree]:
    """Every bundled document, parsed, by short number ("003")."""
    return {n: parse_clauses(read_document(CORPUS / f"{stem}.txt")) for n, stem in DOC.items()}


@pytest.fixture
def corpus_copy(tmp_path: Path) -> Path:
    target = tmp_path / "corpus"
    shutil.copytree(CORPUS, target)
    return target


def _indexed(tmp_path_factory, embedder: str) -> Settings:
    """Settings for a fresh index of the bundled corpus, built in a temporary folder."""
    root = tmp_path_factory.mktemp(embedder)
    corpus = root / "corpus"  # a copy: library routes under test may add or remove files
    shutil.copytree(CORPUS, corpus)
    settings = Settings(
        corpus_dir=corpus, index_dir=root / "index", embedder=embedder, state_dir=root / "state"
    )
    ingest_aside(settings)
    return settings


def ingest_aside(settings: Settings) -> None:
    """``ingest`` in a thread of its own, as the server's library does: ingest lowers the priority
    of the thread that embeds (``RAG_INGEST_NICE``), which must not be pytest's own."""
    failed: list[BaseException] = []

    def run() -> None:
        try:
            ingest(settings)
        except BaseException as e:  # re-raised in the calling thread
            failed.append(e)

    thread = threading.Thread(target=run, name="test-ingest")
    thread.start()
    thread.join()
    if failed:
        raise failed[0]


@pytest.fixture(scope="session")
def hashing_settings(tmp_path_factory) -> Settings:
    """The bundled corpus indexed with the hashing embedder (built once per session)."""
    return _indexed(tmp_path_factory, "hashing")


@pytest.fixture(scope="session")
def hashing_engine(hashing_settings: Settings) -> Engine:
    return Engine.load(hashing_settings, HashingEmbedder())


@pytest.fixture(scope="session")
def prebuilt(tmp_path_factory):
    """``prebuilt(("002", "003"))``: a folder with ``corpus/`` (those bundled documents) and
    ``index/`` ingested from it with the hashing embedder, built once per session for each
    choice. Read-only: a test that changes files takes ``library_copy`` instead."""
    built: dict[tuple[str, ...], Path] = {}

    def build(numbers: tuple[str, ...] = tuple(DOC)) -> Path:
        key = tuple(sorted(numbers))
        if key not in built:
            root = tmp_path_factory.mktemp("prebuilt-" + "-".join(key))
            (root / "corpus").mkdir()
            for n in key:
                shutil.copy2(CORPUS / f"{DOC[n]}.txt", root / "corpus")
            ingest(
                Settings(
                    corpus_dir=root / "corpus",
                    index_dir=root / "index",
                    embedder="hashing",
                    state_dir=root / "state",
                )
            )
            built[key] = root
        return built[key]

    return build


@pytest.fixture
def library_copy(prebuilt, tmp_path: Path):
    """``library_copy(("002", "003"), **settings)``: Settings for this test's own copy of a
    prebuilt corpus and index (``corpus``, ``index``, ``state`` in tmp_path): the same files an
    ingest of those documents leaves, at the cost of a copy. The manifest names files relative
    to the corpus and by content hash, so the copy is up to date where it lies."""

    def copy(numbers: tuple[str, ...] = tuple(DOC), **overrides) -> Settings:
        source = prebuilt(numbers)
        shutil.copytree(source / "corpus", tmp_path / "corpus")
        shutil.copytree(source / "index", tmp_path / "index", symlinks=True)
        return Settings(
            corpus_dir=tmp_path / "corpus",
            index_dir=tmp_path / "index",
            embedder="hashing",
            state_dir=tmp_path / "state",
            **overrides,
        )

    return copy


class DevRead(NamedTuple):
    doc: Document
    seconds: float  # how long read_document took (the first time, in this session)


@pytest.fixture(scope="session")
def dev_read():
    """``dev_read("d43")``: that dev document through ``read_document``, read once per session
    (the three PDFs alone take seconds) and shared read-only (a Document is frozen)."""
    cache: dict[str, DevRead] = {}

    def read(prefix: str) -> DevRead:
        if prefix not in cache:
            (path,) = DEV_CORPUS.glob(f"{prefix}_*")
            started = time.perf_counter()
            doc = read_document(path)
            cache[prefix] = DevRead(doc, time.perf_counter() - started)
        return cache[prefix]

    return read


@pytest.fixture(scope="session")
def real_settings(tmp_path_factory) -> Settings:
    """The bundled corpus indexed with the real model (multilingual-e5-small)."""
    return _indexed(tmp_path_factory, "e5-small")


@pytest.fixture(scope="session")
def real_engine(real_settings: Settings) -> Engine:
    return Engine.load(real_settings)


@pytest.fixture
def rag_here(monkeypatch, capsys):
    """``rag_here(*args, env={...})``: the ``rag`` command run inside this process through
    ``rag.cli.main`` (same argv, environment variables, output streams and exit code as a
    subprocess, and the same CompletedProcess back), sparing an interpreter start-up and a
    dictionary load per command. Keep one real subprocess per flow that must prove the entry
    point itself."""
    from rag import cli

    for console in (cli.out, cli.err):  # as COLUMNS=200 does for the subprocess
        monkeypatch.setattr(console, "_width", 200)

    def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
        with monkeypatch.context() as m:
            for name, value in env.items():
                m.setenv(name, value)
            m.setattr(sys, "argv", ["rag", *args])
            capsys.readouterr()
            try:
                cli.main()
                code = 0
            except SystemExit as e:
                code = e.code if isinstance(e.code, int) else int(e.code is not None)
            out, err = capsys.readouterr()
        return subprocess.CompletedProcess(["rag", *args], code, out, err)

    return run


@contextmanager
def running(app, **options):
    """Serve ``app`` with uvicorn on 127.0.0.1 (a free port) in a thread; yields its base URL.
    ``options`` go to ``uvicorn.Config`` (e.g. ``rag.limits.uvicorn_options(settings)``)."""
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="on", **options)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
