"""A maintainer uploads a Word file at /admin while staff keep asking (real model, chromium)."""

from __future__ import annotations

import re
import shutil

import pytest
from playwright.sync_api import expect

from rag.engine import Engine
from rag.index import Index
from rag.server import create_app

from .conftest import CORPUS, running
from .test_browser import ask, browser, shot  # noqa: F401  (fixture)

pytestmark = [pytest.mark.slow, pytest.mark.browser]

# A short 通知 typed with its labels; Word's automatic numbering is tested in test_readers_docx.py.
PARAGRAPHS = [
    "关于加强社区食堂管理工作的通知",
    "一、工作要求",
    "（一）明确监管责任。社区食堂的食品安全日常监管由区市场监管局负责，街道办事处配合。",
    "（二）保障运营资金。每个社区食堂每年补助运营经费5万元，由区财政局统筹安排。",
    "二、工作步骤",
    "（一）摸底排查。2024年3月底前完成辖区社区食堂摸底。",
]


@pytest.fixture
def server(real_engine, real_settings, tmp_path):
    """A server over a writable copy of the bundled corpus and its real-model index."""
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    shutil.copytree(real_settings.index_dir, tmp_path / "index")
    settings = real_settings.with_(
        corpus_dir=corpus, index_dir=tmp_path / "index", state_dir=tmp_path / "state"
    )
    engine = Engine(settings, Index.load(settings.index_dir), real_engine.embedder)
    with running(create_app(settings, engine)) as url:
        yield url


def test_upload_a_word_file_while_another_browser_keeps_getting_answers(browser, server, tmp_path):  # noqa: F811
    from docx import Document as Word

    word = Word()
    for text in PARAGRAPHS:
        word.add_paragraph(text)
    path = tmp_path / "社区食堂管理通知.docx"
    word.save(path)

    admin = browser.new_context(viewport={"width": 1200, "height": 900}).new_page()
    staff = browser.new_context(viewport={"width": 1000, "height": 900}).new_page()
    admin.goto(server + "/admin")
    expect(admin.locator("#docs tbody tr")).to_have_count(5)
    staff.goto(server + "/")
    expect(staff.locator("#send")).to_be_disabled()

    admin.set_input_files("#files", str(path))
    expect(admin.locator("#message")).to_contain_text("社区食堂管理通知.docx")
    answered = 0
    while admin.locator("#ingest").get_attribute("data-state") in (None, "running"):
        answer = ask(staff, "谁负责医保跨省结算？")  # the old index answers during the rebuild
        expect(answer).to_have_class(re.compile("found"))
        answered += 1
        if answered > 60:
            break
    expect(admin.locator("#ingest")).to_have_attribute("data-state", "done", timeout=180_000)
    expect(admin.locator("#docs tbody tr")).to_have_count(6)
    expect(admin.locator("#docs")).to_contain_text("关于加强社区食堂管理工作的通知")
    shot(admin, "admin-after-upload")
    assert answered >= 1

    answer = ask(staff, "社区食堂的食品安全由谁负责监管？")
    expect(answer).to_have_class(re.compile("found"))
    expect(answer.locator("strong")).to_contain_text("区市场监管局")
    answer.locator("a.chip").first.click()
    staff.wait_for_url(re.compile(r"/docs/.+\?start=\d+&end=\d+#hl"))
    mark = staff.locator("mark#hl")
    expect(mark).to_contain_text("社区食堂的食品安全日常监管由区市场监管局负责")
    expect(mark).to_be_in_viewport()
    shot(staff, "answer-from-upload")
