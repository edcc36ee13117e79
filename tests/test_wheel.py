"""The built wheel is the product: installed alone into a fresh venv, it serves the chat page.

Nothing is downloaded: the wheel is built from a copy of the sources with the setuptools already
installed (no build isolation), installed with ``--no-deps --no-index``, and the new venv finds
its dependencies through ``PYTHONPATH`` pointing at this venv's site-packages only — ``.pth``
files there (the editable install of the repo) are not read from ``PYTHONPATH``, so ``rag``
can only come from the wheel. The test checks that too.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import httpx
import pytest
from markupsafe import escape

REPO = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


def _run(*args: str | Path, **kwargs) -> str:
    done = subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, timeout=300, **kwargs
    )
    assert done.returncode == 0, f"{args}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """A fresh venv with only the wheel installed, and the environment to run it in."""
    root = tmp_path_factory.mktemp("wheel")
    src = root / "src"  # a copy: building writes build/ and *.egg-info next to the sources
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    shutil.copytree(REPO / "rag", src / "rag", ignore=shutil.ignore_patterns("__pycache__"))
    _run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "--no-build-isolation",
        "--no-index",
        "-q",
        "-w",
        root / "dist",
        src,
    )
    (wheel,) = (root / "dist").glob("policyqa-*.whl")
    venv = root / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    _run(
        sys.executable,
        "-m",
        "pip",
        "--python",
        python,
        "install",
        "--no-deps",
        "--no-index",
        "-q",
        wheel,
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAG_", "PYTHON"))}
    deps = {sysconfig.get_paths()[k] for k in ("purelib", "platlib")}
    env["PYTHONPATH"] = os.pathsep.join(sorted(deps))
    env.update(
        RAG_EMBEDDER="hashing",
        RAG_STATE_DIR=str(root / "state"),
        RAG_CORPUS_DIR=str(root / "corpus"),
        RAG_INDEX_DIR=str(root / "index"),
    )
    shutil.copytree(REPO / "corpus", root / "corpus")
    return venv, env


def test_the_wheel_carries_the_templates_and_static_files(installed):
    venv, env = installed
    probe = (
        "import json, rag, rag.web, rag.site; "
        "print(json.dumps([rag.__file__, str(rag.site.TEMPLATES), str(rag.site.STATIC), "
        "rag.web.templates.env.loader.searchpath]))"
    )
    package, templates, static, searchpath = json.loads(
        _run(venv / "bin" / "python", "-c", probe, env=env, cwd=venv)
    )
    site_packages = Path(sysconfig.get_paths(vars={"base": str(venv)})["purelib"])
    assert Path(package).is_relative_to(site_packages), "rag must come from the wheel"
    assert Path(templates).is_relative_to(site_packages)
    assert searchpath == [templates]
    for page in ("base.html", "chat.html", "document.html", "eval_report.html"):
        assert (Path(templates) / page).is_file(), page
    for asset in ("app.css", "chat.js", "viewer.js"):
        assert (Path(static) / asset).is_file(), asset


def test_the_installed_rag_serves_the_chat_page_and_a_document(installed):
    venv, env = installed
    rag = venv / "bin" / "rag"
    _run(rag, "ingest", env=env, cwd=venv)
    port = _free_port()
    server = subprocess.Popen(
        [str(rag), "serve", "--port", str(port)],
        env=env,
        cwd=venv,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, server.stderr.read().decode()
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the installed server never became ready"
            time.sleep(0.3)
        page = httpx.get(f"{base}/", timeout=10)
        assert page.status_code == 200 and "/static/chat.js" in page.text
        docs = httpx.get(f"{base}/api/docs", timeout=10).json()
        assert len(docs) == len(list((REPO / "corpus").glob("*.txt")))
        doc = docs[0]
        viewer = httpx.get(f"{base}/docs/{doc['id']}", timeout=10)
        assert viewer.status_code == 200 and str(escape(doc["title"])) in viewer.text
        css = httpx.get(f"{base}/static/app.css", timeout=10)
        assert css.status_code == 200 and css.text == (REPO / "rag/site/static/app.css").read_text()
    finally:
        server.terminate()
        server.wait(timeout=20)
