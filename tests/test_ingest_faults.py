"""Crash and disk-full safety of ``rag ingest``, step by step.

Every write step of a build calls ``rag.store.checkpoint(step)``. The tests first record the
steps of one update, then, for each step N: kill an ingest right after step N (``os._exit``, no
cleanup at all) or make step N fail with ENOSPC, and check that the index a server would load
is whole, answers a question, and that the next ingest recovers and leaves no leftovers.
"""

from __future__ import annotations

import errno
import gc
import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

import rag.store
from rag import cli
from rag.embed import HashingEmbedder
from rag.engine import Engine, ingest
from rag.index import Index
from rag.settings import Settings

REPO = Path(__file__).resolve().parent.parent
QUESTION = "谁负责医保跨省结算？"
DOCS = {
    "010_plan.txt": "关于医保工作的通知\n一、总体要求\n(一)医保跨省结算\n"
    "区医保局负责推进医保跨省结算，实现异地就医直接结算。\n二、保障措施\n各部门加强协作。\n",
    "011_fund.txt": "关于资金保障的意见\n一、资金来源\n区财政局负责安排专项资金。\n"
    "二、监督管理\n区审计局负责资金使用的审计监督。\n",
}
NEW_DOC = ("012_new.md", "关于养老服务的方案\n一、目标\n区民政局负责建设社区养老服务中心。\n")


# Each job: fork, hook the checkpoint to kill the child right after step N, run ingest.
RUNNER = """
import json, os, sys
from pathlib import Path
import rag.store
from rag.engine import ingest
from rag.models import cl100k
from rag.settings import Settings
cl100k(Settings().model_cache)
jobs = json.loads(Path(sys.argv[1]).read_text())
# One whole ingest first, in a folder of its own: what ingest imports or loads on first use
# (bm25s, faiss, opencc) is then paid once here, not again in every forked child.
warm = Path(jobs[0]["root"]).with_name("warm-up")
ingest(Settings(corpus_dir=Path(jobs[0]["root"]) / "corpus", index_dir=warm, embedder="hashing"))
results = []
for job in jobs:
    pid = os.fork()
    if pid == 0:
        calls = []
        def crash(step, calls=calls, n=job["step"]):
            calls.append(step)
            if len(calls) > n:
                os._exit(137)
        rag.store.checkpoint = crash
        root = Path(job["root"])
        ingest(Settings(corpus_dir=root / "corpus", index_dir=root / "index", embedder="hashing"))
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    results.append(os.waitstatus_to_exitcode(status))
print(json.dumps(results))
"""


def _settings(root: Path) -> Settings:
    return Settings(
        corpus_dir=root / "corpus",
        index_dir=root / "index",
        embedder="hashing",
        state_dir=root / "state",
    )


def _make_legacy(index_dir: Path) -> None:
    """Turn the link layout into a plain ``index/`` folder, as builds before versioning left."""
    version = index_dir.resolve()
    index_dir.unlink()
    version.rename(index_dir)


def _template(root: Path, layout: str) -> Path:
    """A corpus of two documents indexed, then a third document added (not yet indexed)."""
    (root / "corpus").mkdir(parents=True)
    for name, text in DOCS.items():
        (root / "corpus" / name).write_text(text, encoding="utf-8")
    ingest(_settings(root))
    if layout == "legacy":
        _make_legacy(root / "index")
    (root / "corpus" / NEW_DOC[0]).write_text(NEW_DOC[1], encoding="utf-8")
    return root


def _copy(template: Path, target: Path) -> Path:
    shutil.copytree(template, target, symlinks=True)
    return target


def _documents(root: Path) -> set[str]:
    return set(Index.load(root / "index").trees)


def _served_index_is_whole(root: Path) -> set[str]:
    """What a server starting now would load: verified, and able to answer."""
    engine = Engine.load(_settings(root), HashingEmbedder())
    answer = engine.ask(QUESTION)
    assert answer.citations and answer.citations[0].doc_id in engine.index.trees
    assert "区医保局" in answer.answer
    return set(engine.index.trees)


def _leftovers(root: Path) -> list[str]:
    """Everything next to the index except the index link, its folder and the lock."""
    current = (root / "index").resolve().name
    return sorted(
        p.name
        for p in root.iterdir()
        if p.name not in {"corpus", "index", "index.lock", "state", current}
    )


OLD = {Path(n).stem for n in DOCS}
NEW = OLD | {Path(NEW_DOC[0]).stem}


def _steps(template: Path, tmp_path: Path, monkeypatch) -> list[str]:
    root = _copy(template, tmp_path / f"record-{uuid.uuid4().hex[:6]}")
    steps: list[str] = []
    monkeypatch.setattr(rag.store, "checkpoint", steps.append)
    ingest(_settings(root))
    monkeypatch.undo()
    assert _documents(root) == NEW
    return steps


LAYOUTS = ("versioned", "legacy")


@pytest.fixture(scope="module")
def killed(tmp_path_factory) -> dict[str, tuple[list[str], list[Path], list[int]]]:
    """For each layout: the write steps of one update, and for each step N a copy of the
    template whose ingest a forked child ran and killed right after step N, with the children's
    exit codes. One runner process serves both layouts (its start-up is the slow part)."""
    base = tmp_path_factory.mktemp("kills")
    plans: dict[str, tuple[list[str], list[Path]]] = {}
    for layout in LAYOUTS:
        template = _template(base / layout / "template", layout)
        with pytest.MonkeyPatch.context() as monkeypatch:
            steps = _steps(template, base / layout, monkeypatch)
        copies = [_copy(template, base / layout / f"kill-{n}") for n in range(len(steps))]
        plans[layout] = steps, copies
    jobs = [{"root": str(r), "step": n} for _, roots in plans.values() for n, r in enumerate(roots)]
    (base / "jobs.json").write_text(json.dumps(jobs))
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    run = subprocess.run(
        [sys.executable, "-c", RUNNER, str(base / "jobs.json")],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    codes = iter(json.loads(run.stdout.strip().splitlines()[-1]))
    return {
        layout: (steps, roots, [next(codes) for _ in roots])
        for layout, (steps, roots) in plans.items()
    }


@pytest.mark.parametrize("layout", LAYOUTS)
def test_a_kill_at_any_write_step_leaves_a_whole_index(killed, layout):
    steps, roots, codes = killed[layout]
    for expected in (
        "created folder",
        "wrote chunks.jsonl",
        "wrote dense.faiss",
        "wrote manifest.json",
        "synced",
        "linked",
        "swapped",
        "cleaned",
    ):
        assert expected in steps
    assert ("moved old folder" in steps) == (layout == "legacy")
    assert codes == [137] * len(steps)

    for step, root in zip(steps, roots, strict=True):
        served = _served_index_is_whole(root)
        swapped = steps.index(step) >= steps.index("linked") + 1 or (
            layout == "legacy" and step in ("moved old folder", "linked")
        )
        assert served == (NEW if swapped else OLD), step
        report = ingest(_settings(root))  # the next ingest recovers and cleans up
        assert report.documents == 3
        assert _served_index_is_whole(root) == NEW, step
        assert (root / "index").is_symlink(), step
        assert _leftovers(root) == [], step


def test_a_full_disk_at_any_write_step_is_one_line_and_loses_nothing(
    tmp_path: Path, monkeypatch, capsys
):
    template = _template(tmp_path / "template", "versioned")
    steps = _steps(template, tmp_path, monkeypatch)
    committed = steps.index("swapped")
    for n, step in enumerate(steps):
        root = _copy(template, tmp_path / f"full-{n}")
        before = (root / "index" / "manifest.json").read_bytes()
        target = os.readlink(root / "index")

        calls: list[str] = []

        def full(name: str, n=n, calls=calls) -> None:
            calls.append(name)
            if len(calls) == n + 1:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), f"{root}/index.v-1/x")

        monkeypatch.setattr(rag.store, "checkpoint", full)
        code = _cli(monkeypatch, root, "ingest")
        monkeypatch.undo()
        printed = capsys.readouterr().err.strip()
        if n < committed:
            assert code == 1, step
            assert printed.count("\n") == 0 and printed.startswith("error:"), printed
            assert "No space left on device" in printed and "free space" in printed
            assert (root / "index" / "manifest.json").read_bytes() == before, step
            assert os.readlink(root / "index") == target, step
            assert _leftovers(root) == [], step
            assert _served_index_is_whole(root) == OLD, step
        else:  # the new index was already in place: only the cleanup failed
            assert code == 0, (step, printed)
            assert _served_index_is_whole(root) == NEW, step
            ingest(_settings(root))
            assert _leftovers(root) == [], step


def _cli(monkeypatch, root: Path, *args: str, index: Path | None = None) -> int:
    """``rag <args>`` through ``rag.cli.main`` in this process; returns the exit code."""
    monkeypatch.setattr(sys, "argv", ["rag", *args])
    monkeypatch.setenv("RAG_CORPUS_DIR", str(root / "corpus"))
    monkeypatch.setenv("RAG_INDEX_DIR", str(index or root / "index"))
    monkeypatch.setenv("RAG_EMBEDDER", "hashing")
    monkeypatch.setenv("COLUMNS", "400")
    try:
        cli.main()
    except SystemExit as e:
        return int(e.code or 0)
    return 0


def test_a_real_full_disk_on_a_small_tmpfs(tmp_path: Path, monkeypatch, capsys):
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(disk)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip("mounting a tmpfs needs root")
    try:
        root = _template(tmp_path / "root", "versioned")
        assert _cli(monkeypatch, root, "ingest", index=disk / "index") == 0
        capsys.readouterr()
        before = (disk / "index" / "manifest.json").read_bytes()
        lines = (f"第{i}条 区医保局负责第{i}项医保跨省结算业务的办理与督办。" for i in range(1500))
        (root / "corpus" / "013_big.txt").write_text(
            "关于大量条款的通知\n" + "\n".join(lines), encoding="utf-8"
        )
        code = _cli(monkeypatch, root, "ingest", index=disk / "index")
        printed = capsys.readouterr().err.strip()
        assert code == 1 and printed.count("\n") == 0, printed
        assert "No space left on device" in printed and "free space" in printed
        assert (disk / "index" / "manifest.json").read_bytes() == before
        current = (disk / "index").resolve().name
        assert sorted(p.name for p in disk.iterdir()) == ["index", "index.lock", current]
        served = Engine.load(_settings(root).with_(index_dir=disk / "index"), HashingEmbedder())
        assert set(served.index.trees) == NEW and "区医保局" in served.ask(QUESTION).answer
    finally:
        served = None  # it memory-maps the sentence vectors: the disk is busy until it goes
        gc.collect()
        subprocess.run(["umount", str(disk)], check=True)


def test_cli_main_turns_an_os_error_into_one_line(tmp_path: Path, monkeypatch, capsys):
    def denied(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(tmp_path / "corpus"))

    monkeypatch.setattr("rag.engine.ingest", denied)
    assert _cli(monkeypatch, tmp_path, "ingest") == 1
    printed = capsys.readouterr().err.strip()
    assert printed == f"error: Permission denied ({tmp_path / 'corpus'})"
