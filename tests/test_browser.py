"""The chat page in a real browser: Debian's chromium driven by playwright, real model.

Screenshots go to artifacts/screenshots/ (git-ignored) for a human to look at.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from rag.server import create_app

from .conftest import REPO, running

pytestmark = [pytest.mark.slow, pytest.mark.browser]
CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SHOTS = REPO / "artifacts" / "screenshots"


@pytest.fixture(scope="module")
def base_url(real_engine):
    with running(create_app(real_engine.settings, real_engine)) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, base_url) -> Page:
    context = browser.new_context(viewport={"width": 1100, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.dialogs = []
    page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
    page.goto(base_url + "/")
    expect(page.locator("#send")).to_be_disabled()  # empty question
    yield page
    context.close()


def ask(page: Page, question: str):
    page.fill("#question", question)
    page.press("#question", "Enter")
    answer = page.locator(".msg.answer").last
    expect(answer).not_to_have_class(re.compile("pending"), timeout=20_000)
    return answer


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_answer_citation_and_highlighted_clause(page: Page):
    answer = ask(page, "谁负责医保跨省结算")
    expect(answer).to_have_class(re.compile("found"))
    expect(answer.locator("strong")).to_have_text("区医保局。")
    chip = answer.locator("a.chip").first
    expect(chip).to_contain_text("16.医保跨省结算")
    shot(page, "answer")
    chip.click()
    page.wait_for_url(re.compile(r"/docs/003_\w+\?start=\d+&end=\d+#hl"))
    mark = page.locator("mark#hl")
    expect(mark).to_be_visible()
    expect(mark).to_contain_text("推进江北黄州异地就医医保直接结算")
    expect(mark).to_be_in_viewport()
    expect(page.locator("nav.crumbs")).to_contain_text("16.医保跨省结算")
    expect(page.locator("dl.meta")).to_contain_text("区发改局")
    shot(page, "viewer")


def test_unanswerable_question_shows_the_not_found_state(page: Page):
    answer = ask(page, "江北区安排给黄州区的对口合作专项资金具体是多少万元？")
    expect(answer).to_have_class(re.compile("notfound"))
    expect(answer).to_contain_text("未在已收录的政策文件中找到相关规定")
    expect(answer).to_contain_text("可能相关的条款")
    expect(answer.locator("a.chip")).not_to_have_count(0)
    shot(page, "not-found")


def test_script_in_a_question_renders_as_text(page: Page):
    question = "<script>alert('x')</script><img src=x onerror=alert(1)>谁负责医保跨省结算"
    ask(page, question)
    expect(page.locator(".msg.user .bubble").last).to_have_text(question)
    assert page.locator("#log script, #log img").count() == 0
    assert page.dialogs == []


def test_conversation_stays_and_examples_and_copy_work(page: Page):
    page.locator(".example").first.click()
    expect(page.locator(".msg.answer:not(.pending)")).to_have_count(1, timeout=20_000)
    ask(page, "統計合作由哪個部門負責？")
    expect(page.locator(".msg.user")).to_have_count(2)
    expect(page.locator(".msg.answer").last).to_contain_text("区统计局")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.locator(".msg.answer").last.locator("button.copy").click()
    expect(page.locator(".msg.answer").last.locator("button.copy")).to_have_text("已复制")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.startswith("区统计局") and "[1] 《" in copied


def test_phone_width(browser, base_url):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    page.goto(base_url + "/")
    answer = ask(page, "谁负责医保跨省结算")
    expect(answer.locator("a.chip").first).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, "no horizontal scrolling at phone width"
    shot(page, "phone")
    context.close()


def test_page_works_when_api_keys_are_required(browser, real_engine, tmp_path):
    from rag.keys import KeyStore

    KeyStore(tmp_path).create("integration")
    settings = real_engine.settings.with_(state_dir=tmp_path)
    with running(create_app(settings, real_engine)) as url:
        context = browser.new_context()
        page = context.new_page()
        page.goto(url + "/?q=" + "谁负责医保跨省结算")  # a chat tool's link back
        answer = page.locator(".msg.answer").last
        expect(answer).to_have_class(re.compile("found"), timeout=20_000)
        expect(answer.locator("strong")).to_have_text("区医保局。")
        statuses = page.evaluate(
            "Promise.all(['/api/ask/stream', '/api/ask'].map(u => fetch(u, {method: 'POST', "
            "headers: {'Content-Type': 'application/json'}, "
            "body: JSON.stringify({question: '医保'})}).then(r => r.status)))"
        )
        assert statuses == [200, 401]  # the page's session serves the page, not the whole API
        context.close()
