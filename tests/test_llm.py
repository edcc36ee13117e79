"""Generative mode against a small OpenAI-compatible server started on 127.0.0.1."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from rag.engine import Engine

ITEM_16 = "附件1 › 二、重点任务 › (四)完善基础设施和基本公共服务 › 16.医保跨省结算"


class FakeChat:
    """Answers /v1/chat/completions with a scripted reply and records what it was sent."""

    def __init__(self):
        self.reply: str = ""
        self.status = 200
        self.delay = 0.0
        self.requests: list[dict] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append(
                    {"path": self.path, "body": body, "auth": self.headers.get("Authorization")}
                )
                time.sleep(fake.delay)
                payload = {
                    "id": "chatcmpl-test",
                    "object": "chat.completion",
                    "model": body["model"],
                    "choices": [
                        {
                            "index": 0,
                            "finish_reason": "stop",
                            "message": {"role": "assistant", "content": fake.reply},
                        }
                    ],
                }
                data = json.dumps(payload, ensure_ascii=False).encode()
                try:
                    self.send_response(fake.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (the timeout test)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/v1"
        serve = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        serve.start()  # polls every 50 ms, so the module's shutdown is quick


@pytest.fixture(scope="module")
def fake_chat():
    fake = FakeChat()
    yield fake
    fake.server.shutdown()


@pytest.fixture
def llm_engine(fake_chat, hashing_engine):
    fake_chat.requests.clear()
    fake_chat.status, fake_chat.delay = 200, 0.0
    settings = hashing_engine.settings.with_(
        llm_base_url=fake_chat.url, llm_model="policy-test", llm_api_key="sk-test", llm_timeout=2.0
    )
    return Engine(settings, hashing_engine.index, hashing_engine.embedder)


def test_markers_become_citations(llm_engine, fake_chat):
    fake_chat.reply = "医保跨省结算由区医保局负责[1]。"
    a = llm_engine.ask("谁负责医保跨省结算？")
    assert a.mode == "generative" and a.found
    assert a.answer == "医保跨省结算由区医保局负责[1]。"
    assert a.citations[0].clause_path == ITEM_16
    assert a.citations[0].text.endswith("〔责任单位:区医保局〕")
    sent = fake_chat.requests[0]
    assert sent["path"] == "/v1/chat/completions" and sent["auth"] == "Bearer sk-test"
    assert sent["body"]["model"] == "policy-test"
    user = sent["body"]["messages"][-1]["content"]
    assert "[1]《" in user and ITEM_16 in user and user.endswith("问题：谁负责医保跨省结算？")


def test_markers_are_renumbered_in_order_of_use(llm_engine, fake_chat):
    fake_chat.reply = "区医保局[2]负责；另见[1]和[2]。"
    a = llm_engine.ask("谁负责医保跨省结算？")
    assert a.answer == "区医保局[1]负责；另见[2]和[1]。"
    assert len(a.citations) == 2 and a.citations[0].start != a.citations[1].start


@pytest.mark.parametrize("reply", ["区医保局负责。", "见[9]。", ""])
def test_answer_without_a_valid_marker_falls_back_to_extractive(llm_engine, fake_chat, reply):
    fake_chat.reply = reply
    a = llm_engine.ask("谁负责医保跨省结算？")
    assert a.mode == "extractive" and a.answer.startswith("区医保局。依据：")


def test_endpoint_errors_and_timeouts_fall_back(llm_engine, fake_chat):
    fake_chat.reply, fake_chat.status = "区医保局[1]", 500
    assert llm_engine.ask("谁负责医保跨省结算？").mode == "extractive"
    quick = llm_engine.settings.with_(llm_timeout=0.3)
    engine = Engine(quick, llm_engine.index, llm_engine.embedder)
    fake_chat.status, fake_chat.delay = 200, 1.0  # longer than the 0.3 s timeout
    started = time.perf_counter()
    a = engine.ask("谁负责医保跨省结算？")
    assert a.mode == "extractive" and time.perf_counter() - started < 0.9


def test_weak_evidence_is_refused_without_asking_the_model(llm_engine, fake_chat):
    fake_chat.reply = "大约500万元[1]。"
    a = llm_engine.ask("江北区安排给黄州区的对口合作专项资金具体是多少万元？")
    assert not a.found and fake_chat.requests == []


def test_null_content_falls_back(llm_engine, fake_chat):
    fake_chat.reply = None
    a = llm_engine.ask("谁负责医保跨省结算？")
    assert a.mode == "extractive" and a.answer.startswith("区医保局。")
