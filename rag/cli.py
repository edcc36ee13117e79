"""``rag``: one verb per pipeline stage. Errors print as one line and exit 1."""

from __future__ import annotations

import json
import re
import sys
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from rag.errors import BadOption, RagError, os_error_text
from rag.filters import Filters, iso_date
from rag.settings import Settings, describe

app = typer.Typer(
    help="政策问答 — cited answers over Chinese policy texts, offline.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


CorpusOpt = Annotated[Path | None, typer.Option("--corpus", help="corpus folder [RAG_CORPUS_DIR]")]
IndexOpt = Annotated[Path | None, typer.Option("--index", help="index folder [RAG_INDEX_DIR]")]
JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON instead of text")]
CONTROL = re.compile(r"[\x00-\x1f\x7f]")  # kept out of printed names: one message, one line


DocOpt = Annotated[list[str] | None, typer.Option(help="only these document ids (or prefixes)")]
IssuerOpt = Annotated[str, typer.Option(help="only documents whose 发文机关 contains this")]
SinceOpt = Annotated[str, typer.Option(help="only documents dated on or after (2023-01-01)")]
UntilOpt = Annotated[str, typer.Option(help="only documents dated on or before")]
KindOpt = Annotated[list[str] | None, typer.Option(help="only these kinds (通知, 办法, 意见…)")]
QuestionArg = Annotated[str, typer.Argument(help="the question (simplified or traditional)")]
ModeOpt = Annotated[str, typer.Option(help="hybrid, bm25 or dense retrieval")]


def _filters(doc, issuer: str, since: str, until: str, kind) -> Filters:
    """The filter options as ``Filters``; dates may be written 2023-01-01 or 2023年1月1日."""
    dates = []
    for given in (since, until):
        if given and not iso_date(given):
            raise BadOption(f"{given!r} is not a date: write it as 2023-01-01")
        dates.append(iso_date(given))
    return Filters(issuer, dates[0], dates[1], tuple(kind or ()), tuple(doc or ()))


def main() -> None:
    try:
        app()
    except RagError as e:
        err.print(f"[red]error:[/red] {_line(str(e))}")
        sys.exit(1)
    except OSError as e:  # a full disk, a folder we may not read or write: one line, no trace
        err.print(f"[red]error:[/red] {_line(os_error_text(e))}")
        sys.exit(1)


def _line(text: str) -> str:
    """Text safe to print as one line: no rich markup, no control characters (file names).

    >>> _line("bad\\nname [red].txt")
    'bad?name \\\\[red].txt'
    """
    return escape(CONTROL.sub("?", text))


def _settings(corpus: Path | None = None, index: Path | None = None) -> Settings:
    return Settings.from_env().with_(corpus_dir=corpus, index_dir=index)


@contextmanager
def _status(message: str):
    with err.status(message, spinner="dots"):
        yield


def _engine(settings: Settings):
    from rag.engine import Engine

    with _status("loading index and model…"):
        return Engine.load(settings)


def _print_json(value: object) -> None:
    out.print_json(json.dumps(value, ensure_ascii=False, default=str))


@app.command()
def ingest(corpus: CorpusOpt = None, index: IndexOpt = None) -> None:
    """Build or update the index from the corpus folder (only changed files are re-embedded)."""
    from rag.engine import ingest as run_ingest

    settings = _settings(corpus, index)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err, transient=True) as bar:
        read_task = bar.add_task("reading", total=None)
        embed_task = bar.add_task("embedding", total=None, visible=False)

        def reading(what: str, done: int, total: int) -> None:
            label = "OCR" if what.endswith("OCR") else "reading"
            bar.update(
                read_task, description=f"{label} {_line(what)[-40:]}", completed=done, total=total
            )

        def progress(done: int, total: int) -> None:
            bar.update(read_task, visible=False)
            bar.update(embed_task, visible=True, completed=done, total=total)

        report = run_ingest(settings, progress, reading=reading)
    for name, reason in report.skipped:
        err.print(f"[yellow]warning:[/yellow] skipped {_line(name)}: {_line(reason)}")
    if not report.changed:
        out.print(
            f"{report.path}/ is up to date ({report.documents} files, "
            f"{report.chunks} chunks); nothing to do"
        )
        return
    out.print(
        f"built {report.chunks:,} chunks from {report.documents} files → {report.path}/ "
        f"({report.dimension}-d, bm25 vocab {report.vocabulary:,}) in {report.seconds:.1f} s; "
        f"embedded {report.embedded}, reused {report.reused}"
    )


@app.command()
def search(
    query: QuestionArg,
    k: Annotated[int, typer.Option("-k", min=1, max=100, help="how many passages")] = 5,
    mode: ModeOpt = "hybrid",
    doc: DocOpt = None,
    issuer: IssuerOpt = "",
    since: SinceOpt = "",
    until: UntilOpt = "",
    kind: KindOpt = None,
    index: IndexOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show the passages retrieved for a question (BM25 + dense, fused by their scores)."""
    filters = _filters(doc, issuer, since, until, kind)
    engine = _engine(_settings(index=index))
    hits = engine.search(query, k=k, mode=mode, filters=filters)
    if as_json:
        _print_json([{**asdict(h), "chunk": h.chunk.to_dict()} for h in hits])
        return
    if not hits:
        err.print(
            "nothing found: name the matter you are asking about (e.g. 医保跨省结算), "
            "or loosen the filters"
        )
        return
    table = Table("#", "score", "title", "clause", "passage", show_lines=True)
    for h in hits:
        snippet = h.chunk.text.replace("\n", " ")
        table.add_row(
            str(h.rank),
            f"{h.score:.4f}",
            h.chunk.title[:30],
            h.chunk.clause_path,
            snippet[:90] + ("…" if len(snippet) > 90 else ""),
        )
    out.print(table)


@app.command()
def ask(
    question: QuestionArg,
    k: Annotated[int | None, typer.Option("-k", min=1, max=50, help="passages to read")] = None,
    mode: ModeOpt = "hybrid",
    doc: DocOpt = None,
    issuer: IssuerOpt = "",
    since: SinceOpt = "",
    until: UntilOpt = "",
    kind: KindOpt = None,
    index: IndexOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Answer a question with the clause it comes from, or say the documents do not cover it."""
    filters = _filters(doc, issuer, since, until, kind)
    engine = _engine(_settings(index=index))
    answer = engine.ask(question, top_k=k, mode=mode, filters=filters)
    if as_json:
        _print_json(answer.to_dict())
        return
    style = "bold green" if answer.found else "bold yellow"
    out.print(f"[{style}]{answer.answer}[/{style}]")
    label = "引用" if answer.found else "可能相关"
    for n, c in enumerate(answer.citations, start=1):
        page = f" 第{c.page}页" if c.page else ""
        out.print(
            f"[{n}] {label}：《{c.title}》{c.clause_path}{page}  [dim]({c.doc_id} "
            f"[{c.start}:{c.end}])[/dim]"
        )
        out.print(f"    {c.text}")
    out.print(f"[dim]{answer.intent} · {answer.latency_ms:.0f} ms[/dim]")


@app.command()
def serve(
    host: Annotated[
        str | None, typer.Option(help="address to bind [RAG_HOST, default 127.0.0.1]")
    ] = None,
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
    allow_open: Annotated[
        bool, typer.Option(help="serve a non-loopback address even with no API key")
    ] = False,
    workers: Annotated[
        int | None,
        typer.Option(min=1, max=MAX_WORKERS, help="worker processes [RAG_WORKERS, default 1]"),
    ] = None,
    index: IndexOpt = None,
) -> None:
    """Serve the chat page, JSON API (/api), OpenAI-compatible API (/v1) and chat-tool bots.

    Bounded (rag.limits): request heads must arrive within RAG_HEAD_TIMEOUT s, at most
    RAG_MAX_CONNECTIONS connections stay open (per worker), and a repeated log line is written
    once a minute. With --workers N, N processes share the port, each with its own engine.
    """
    import uvicorn

    from rag.deps import is_loopback, refuse_open
    from rag.keys import KeyStore
    from rag.limits import quiet_repeats, uvicorn_options
    from rag.server import create_app

    # the app gets the bind and --allow-open too: it applies the same rule at every request
    settings = _settings(index=index).with_(
        host=host, allow_open=allow_open or None, workers=workers
    )
    if not 1 <= settings.workers <= MAX_WORKERS:
        raise BadOption(f"RAG_WORKERS={settings.workers}: give 1 to {MAX_WORKERS} processes")
    keys = KeyStore(settings.state_dir).keys()
    if not keys:
        refuse_open(settings)  # fail fast; revoking the last key later is caught per request
    if not is_loopback(settings.host) and keys and not settings.page_password:
        err.print(
            "[yellow]note:[/yellow] anyone who can open the chat page can ask questions through "
            "it (rate-limited); set RAG_PAGE_PASSWORD to require a password"
        )
    err.print(
        f"serving http://{settings.host}:{port}  (API docs at /docs; the model loads in "
        "the background, /healthz says when it is ready)"
    )
    options = uvicorn_options(settings)
    if options["http"].max_connections < settings.max_connections:
        err.print(
            f"[yellow]note:[/yellow] at most {options['http'].max_connections} connections "
            "(the open-file limit is low; raise `ulimit -n` for more)"
        )
    if settings.workers > 1:
        _serve_workers(settings, port, options)
        return
    config = uvicorn.Config(
        create_app(settings), host=settings.host, port=port, log_level="warning", **options
    )
    quiet_repeats()  # after uvicorn has set up its log handlers
    uvicorn.Server(config).run()


MAX_WORKERS = 32


def _serve_workers(settings: Settings, port: int, options: dict) -> None:
    """``settings.workers`` uvicorn processes on one socket. uvicorn starts them from a pickled
    config, so the app and protocol are named by import string and read their settings from the
    environment, into which the command-line options are copied here."""
    import os

    import uvicorn

    from rag.settings import env_name

    given = {"index_dir": settings.index_dir, "host": settings.host}
    os.environ.update({env_name(k): str(v) for k, v in given.items()})
    os.environ[env_name("allow_open")] = "1" if settings.allow_open else "0"
    worker_options = {**options, "http": "rag.limits:worker_protocol"}
    uvicorn.run(
        "rag.server:worker_app",
        factory=True,
        workers=settings.workers,
        host=settings.host,
        port=port,
        log_level="warning",
        **worker_options,
    )


@app.command("eval")
def evaluate_gold(
    gold: Annotated[
        list[Path] | None,
        typer.Option(
            help="gold questions (JSON lines); repeat for several files [default: eval/gold.jsonl]"
        ),
    ] = None,
    split: Annotated[
        str | None,
        typer.Option(help="dev gold: only the calibration or heldout documents (splits.json)"),
    ] = None,
    out_dir: Annotated[Path, typer.Option("--out", help="where results/report go")] = Path(
        "eval/out"
    ),
    modes: Annotated[str, typer.Option(help="retrieval modes, first is primary")] = (
        "hybrid,bm25,dense"
    ),
    thresholds: Annotated[
        Path | None, typer.Option(help="exit 1 if the primary mode falls below these")
    ] = None,
    index: IndexOpt = None,
) -> None:
    """Run a gold question set: accuracy, citations, refusals, latency, and a mode ablation."""
    from rag import evaluate as ev
    from rag.report import render_html

    golds = gold or [Path("eval/gold.jsonl")]
    items = ev.load_golds(golds, split)
    mode_list = tuple(m.strip() for m in modes.split(",") if m.strip())
    engine = _engine(_settings(index=index))
    manifest = engine.index.manifest
    about = {
        "gold": ", ".join(map(str, golds)) + (f" ({split})" if split else ""),
        "model": manifest["model"]["id"],
        "built_at": manifest["built_at"],
    }
    columns = (TextColumn("asking"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task("ask", total=len(items) * len(mode_list))
        report, judged = ev.evaluate(
            lambda q, retriever: engine.ask(q, mode=retriever),
            items,
            [engine.retriever[mode] for mode in mode_list],
            about,
            lambda n: bar.update(task, completed=n),
            {doc_id: tree.doc.title for doc_id, tree in engine.index.trees.items()},
        )
    ev.write_results(judged, report, out_dir)
    (out_dir / "report.html").write_text(render_html(report, judged), encoding="utf-8")
    _metrics_table("retrieval modes", report["modes"])
    for name in ("corpus", "type", "kind"):
        _metrics_table(f"by {name} ({report['primary']})", report[f"by_{name}"])
    out.print(f"wrote {out_dir}/results.jsonl, report.json, report.html")
    if thresholds:
        limits = json.loads(thresholds.read_text(encoding="utf-8"))
        failed = ev.below_thresholds(report["modes"][report["primary"]], limits)
        if failed:
            err.print(f"[red]below thresholds:[/red] {'; '.join(failed)}")
            raise typer.Exit(1)
        out.print(f"[green]all metrics at or above {thresholds}[/green]")


@app.command()
def calibrate(
    gold: Annotated[list[Path] | None, typer.Option(help="gold questions; repeatable")] = None,
    split: Annotated[str | None, typer.Option(help="dev gold: calibration")] = None,
    index: IndexOpt = None,
    save: Annotated[Path | None, typer.Option(help="write the computed cases here")] = None,
    load: Annotated[list[Path] | None, typer.Option(help="cases saved earlier; repeatable")] = None,
    only: Annotated[str | None, typer.Option(help="sweep only these (floor,fallback,…)")] = None,
) -> None:
    """Sweep the answer scorer's weights on gold questions (features computed once)."""
    from rag import calibrate as cal
    from rag.evaluate import load_golds

    found = [case for path in load or () for case in cal.read_cases(path)]
    if gold:
        with _status("asking…"):
            found += cal.cases(_engine(_settings(index=index)), load_golds(gold, split))
    if save:
        cal.write_cases(found, save)
    outcomes = cal.sweep(found, cal.grid_of(only.split(",") if only else None))
    lines = [*cal.table(outcomes), f"best: {outcomes[0].weights}", "one at a time around it:"]
    out.print("\n".join(map(escape, lines + cal.around(outcomes, outcomes[0].weights))))


def _metrics_table(title: str, rows: dict[str, dict]) -> None:
    keys = (
        "answer_accuracy",
        "answer_accuracy_lenient",
        "citation_accuracy",
        "clause_accuracy",
        "hit@1",
        "hit@3",
        "hit@5",
        "mrr",
        "refusal_precision",
        "refusal_recall",
        "latency_p50_ms",
        "latency_p95_ms",
    )
    table = Table(
        "", "n", *(k.replace("_accuracy", " acc").replace("_", " ") for k in keys), title=title
    )
    for name, m in rows.items():
        table.add_row(
            name, str(m["questions"]), *("–" if m[k] is None else f"{m[k]:g}" for k in keys)
        )
    out.print(table)


@app.command()
def info(index: IndexOpt = None, as_json: JsonOpt = False) -> None:
    """Summarise the index: documents, model, counts, size, build time."""
    from rag.index import read_manifest, verify

    settings = _settings(index=index)
    manifest = read_manifest(settings.index_dir)
    verify(settings.index_dir, manifest)
    size = sum(p.stat().st_size for p in settings.index_dir.rglob("*") if p.is_file())
    if as_json:
        _print_json({**manifest, "bytes_on_disk": size})
        return
    counts = manifest["counts"]
    out.print(
        f"index   {settings.index_dir}/ (format {manifest['format']}, "
        f"{size / 1e6:.1f} MB, built {manifest['built_at']} in "
        f"{manifest['build_seconds']} s)"
    )
    out.print(f"model   {manifest['model']['id']} ({manifest['model']['dimension']}-d)")
    out.print(
        f"chunks  {counts['chunks']} from {counts['documents']} documents, "
        f"≤{manifest['chunking']['max_tokens']} tokens; "
        f"bm25 vocab {manifest['bm25']['vocabulary']:,}"
    )
    for name, entry in manifest["files"].items():
        out.print(f"  {entry['doc_id']}  {name}  sha256 {entry['sha256'][:12]}")
    for s in manifest["skipped"]:
        out.print(f"  [yellow]skipped[/yellow] {s['file']}: {s['reason']}")


@app.command()
def show(
    doc_id: Annotated[str, typer.Argument(help="document id, or an unambiguous prefix (003)")],
    clause: Annotated[str | None, typer.Option(help="clause path or its tail, e.g. 16.")] = None,
    index: IndexOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Print a document's metadata and outline, or the text of one clause."""
    from rag.clauses import find_clauses
    from rag.errors import UnknownDocument
    from rag.index import Index

    tree = Index.load(_settings(index=index).index_dir).tree(doc_id)
    doc = tree.doc
    if clause is None:
        if as_json:
            _print_json(tree.to_dict())
            return
        out.print(f"[bold]{doc.title}[/bold]  ({doc.doc_id}, {doc.source})")
        for key, value in doc.meta.items():
            out.print(f"  {key}: {value}")
        for c in tree.clauses:
            out.print(f"{'  ' * len(c.path)}{c.path[-1]}  [dim][{c.start}:{c.end}][/dim]")
        return
    found = find_clauses(tree, clause)
    if not found:
        raise UnknownDocument(
            f"no clause {clause!r} in {doc.doc_id}; `rag show {doc_id}` lists its outline"
        )
    if len(found) > 1:
        options = "; ".join(c.path_text for c in found[:8])
        raise UnknownDocument(f"{clause!r} matches {len(found)} clauses: {options}")
    c = found[0]
    text = doc.text[c.start : c.end]
    if as_json:
        _print_json({**asdict(c), "text": text})
        return
    out.print(f"[bold]{c.path_text}[/bold]  ({doc.doc_id} [{c.start}:{c.end}])")
    out.print(text)


@app.command("settings")
def show_settings() -> None:
    """List every setting, its environment variable and its default."""
    table = Table("environment variable", "default", "meaning")
    for name, default, help_text in describe():
        table.add_row(name, default, help_text)
    out.print(table)


@app.command()
def bench(
    queries: Annotated[int, typer.Option(min=1, help="questions per in-process measurement")] = 50,
    requests: Annotated[
        int | None,
        typer.Option(min=1, help="HTTP requests to time [100 sequential; 400 per --load level]"),
    ] = None,
    cold: Annotated[bool, typer.Option(help="also time a build with a fresh model cache")] = True,
    server: Annotated[bool, typer.Option(help="also time a running `rag serve`")] = True,
    load: Annotated[
        bool, typer.Option("--load", help="only: concurrent load against a `rag serve`")
    ] = False,
    concurrency: Annotated[
        str, typer.Option(help="--load: concurrent clients per level, comma-separated")
    ] = "8,32",
    seconds: Annotated[
        float, typer.Option(min=0.1, help="--load: at most this long per level")
    ] = 30.0,
    workers: Annotated[
        str | None,
        typer.Option(help="--load: server worker processes to compare, e.g. 1,2,3 [RAG_WORKERS]"),
    ] = None,
    during_ingest: Annotated[
        float,
        typer.Option(
            min=0,
            max=3600,
            help="--load: also time /api/ask for this many seconds while an ingest of the dev "
            "corpus runs (0: skip)",
        ),
    ] = 0.0,
    chunks: Annotated[
        int | None,
        typer.Option(min=1, max=200_000, help="only: ingest ~N chunks of real documents and time"),
    ] = None,
    as_json: JsonOpt = False,
    index: IndexOpt = None,
) -> None:
    """Measure ingest time, index size and in-process latency; prints numbers."""
    from rag import bench as b

    settings = _settings(index=index)
    if as_json and chunks is None:
        raise RagError("--json goes with --chunks N (e.g. rag bench --chunks 2000 --json)")
    if chunks is not None:
        with err.status("bench…", spinner="dots") as status:
            result = b.bench_chunks(settings, chunks, queries, server, status.update)
        _print_json(result) if as_json else out.print(b.chunks_table(result))
        return
    if load:
        levels = _levels(concurrency)
        counts = _levels(workers, MAX_WORKERS, "--workers") if workers else [settings.workers]
        for n in counts:
            _bench_load(settings.with_(workers=n), levels, requests or 400, seconds)
        if during_ingest:
            _bench_during_ingest(settings, requests or 400, during_ingest)
        return
    with _status("timing ingest (cold builds convert the model and embed every chunk)…"):
        builds = b.bench_ingest(settings, cold_cache=cold)
    for label, seconds_taken in builds.items():
        out.print(f"ingest {label:<48} {seconds_taken:8.1f} s")
    engine = _engine(settings)
    manifest = engine.index.manifest
    size = b.index_size(settings.index_dir)
    out.print(
        f"index  {manifest['counts']['chunks']} chunks, {manifest['counts']['documents']} "
        f"documents, {size / 1e6:.2f} MB on disk ({settings.index_dir}/)"
    )
    questions = b.sample_questions(engine.index, queries)
    for t in [*b.bench_search(engine, questions), b.bench_ask(engine, questions)]:
        out.print(
            f"{t.name:<22} p50 {t.p50:7.1f} ms   p95 {t.p95:7.1f} ms   (n={len(t.values_ms)})"
        )
    if server:
        with _status("starting rag serve and timing HTTP requests…"):
            ready, t = b.bench_server(settings, b.sample_questions(engine.index, requests or 100))
        out.print(f"rag serve: ready {ready:.1f} s after start")
        out.print(f"{t.name:<22} p50 {t.p50:7.1f} ms   p95 {t.p95:7.1f} ms")


def _levels(text: str, top: int = 1024, option: str = "--concurrency") -> list[int]:
    try:
        levels = [int(part) for part in text.split(",")[:64] if part.strip()]
    except ValueError:
        levels = []
    if not levels or not all(1 <= c <= top for c in levels):
        raise BadOption(f"{option} {text[:40]!r}: give numbers from 1 to {top}, e.g. 1,2")
    return levels


def _bench_load(settings: Settings, levels: list[int], requests: int, seconds: float) -> None:
    """Bounded concurrent POST /api/ask against a fresh `rag serve`, one line per level."""
    from rag import bench as b
    from rag.index import Index

    questions = b.sample_questions(Index.load(settings.index_dir), 200)
    with _status("starting rag serve…"), b.served(settings) as server:
        out.print(
            f"rag serve: {settings.workers} worker{'s' * (settings.workers > 1)}, ready "
            f"{server.ready_s:.1f} s after start (pid {server.pid})"
        )
        out.print(f"server before load: {_memory(b.process_memory(server.pid))}")
        for c in levels:
            r = b.run_load(server.base, server.pid, questions, c, requests, seconds)
            p = {q: b.percentile(r.ok_ms, q) for q in (0.5, 0.95, 0.99)}
            p["shed"] = b.percentile(r.shed_ms, 0.95)
            ms = {q: "-" if v is None else f"{v:.1f}" for q, v in p.items()}
            statuses = json.dumps(
                {str(k): v for k, v in sorted(r.statuses.items())}, separators=(",", ":")
            )
            out.print(
                f"load c={c} n={r.count} s={r.seconds:.1f} req/s={r.count / r.seconds:.1f} "
                f"p50_ms={ms[0.5]} p95_ms={ms[0.95]} p99_ms={ms[0.99]} ok={len(r.ok_ms)} "
                f"shed={r.shed} shed_p95_ms={ms['shed']} errors={r.errors} status={statuses} "
                f"server_cpu_ms/req={r.cpu_ms:.1f} "
                f"client_cpu_ms/req={1000 * r.client_cpu_s / max(1, r.count):.1f}"
            )
            out.print(f"server after c={c}: {_memory(r.memory_kib)}")


def _bench_during_ingest(settings: Settings, requests: int, seconds: float) -> None:
    """Sequential POST /api/ask against a fresh `rag serve`, quiet and then while an ingest of
    the dev corpus runs in a separate process (stopped after ``seconds``)."""
    from rag import bench as b

    with _status("timing /api/ask quiet, then during an ingest…"):
        r = b.bench_during_ingest(settings, b.ingest_sources(settings), requests, seconds)
    for name in ("quiet", "during ingest"):
        t = r[name]
        out.print(f"ask {name:<14} p50_ms={t['p50_ms']:.1f} p95_ms={t['p95_ms']:.1f} n={t['n']}")
    out.print(
        f"ask during ingest / quiet: p50 x{r['p50_ratio']:.2f}, p95 x{r['p95_ratio']:.2f} "
        f"(ingest of {r['corpus']} at nice +{r['ingest_nice']} ran {r['ingest_s']:.1f} s, "
        f"{'finished' if r['ingest_finished'] else 'then stopped'})"
    )


def _memory(kib: dict[str, int]) -> str:
    return "  ".join(f"{k}={v / 1024:.1f}MiB" for k, v in kib.items()) or "memory unknown"


keys_app = typer.Typer(help="API keys for /api and /v1 (stored hashed in RAG_STATE_DIR).")
app.add_typer(keys_app, name="keys")


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Option(help="who or what the key is for")] = "default",
    admin: Annotated[bool, typer.Option(help="may also manage the document library (/admin)")] = (
        False
    ),
) -> None:
    """Create a key and print it once; from now on /api and /v1 require a key."""
    from rag.keys import KeyStore

    store = KeyStore(_settings().state_dir)
    key, secret = store.create(name, admin=admin)  # a full disk or a read-only folder: one line
    out.print(secret)
    err.print(
        f"created key {key.id} ({name}); it is shown only now. Send it as "
        f"'Authorization: Bearer <key>'. Stored hashed in {store.path}"
    )


@keys_app.command("list")
def keys_list(as_json: JsonOpt = False) -> None:
    """List keys (id, name, prefix, created); the keys themselves are not stored."""
    from rag.keys import KeyStore

    keys = KeyStore(_settings().state_dir).keys()
    if as_json:
        _print_json([{k: v for k, v in asdict(key).items() if k != "sha256"} for key in keys])
        return
    if not keys:
        out.print(
            "no API keys: /api and /v1 are open on loopback only (or with --allow-open); "
            "a public `rag serve` refuses every request until a key exists"
        )
        return
    table = Table("id", "name", "prefix", "created", "admin")
    for key in keys:
        table.add_row(key.id, key.name, key.prefix + "…", key.created, "yes" if key.admin else "")
    out.print(table)


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[str, typer.Argument(help="key id or prefix")]) -> None:
    """Revoke a key; requests using it get 401 at once (with no key left, a public server
    refuses every request until a key is created, unless it runs with --allow-open)."""
    from rag.keys import KeyStore

    key = KeyStore(_settings().state_dir).revoke(key_id)
    out.print(f"revoked {key.id} ({key.name})")
    if not KeyStore(_settings().state_dir).keys():
        err.print(
            "[yellow]note:[/yellow] that was the last key: a server on a public address now "
            "refuses every request until `rag keys create` (unless it runs with --allow-open)"
        )
