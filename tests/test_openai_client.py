"""The OpenAI-compatible endpoint, driven by the real ``openai`` client against a live server."""

from __future__ import annotations

import pytest
from openai import OpenAI

from rag.server import create_app

from .conftest import running

ITEM_16 = "附件1 › 二、重点任务 › (四)完善基础设施和基本公共服务 › 16.医保跨省结算"


@pytest.fixture(scope="module")
def openai_client(hashing_engine):
    with running(create_app(hashing_engine.settings, hashing_engine)) as url:
        yield OpenAI(base_url=f"{url}/v1", api_key="not-needed", max_retries=0, timeout=30)


def test_models(openai_client):
    assert [m.id for m in openai_client.models.list()] == ["policyqa"]


def test_chat_completion_answers_the_last_user_message(openai_client):
    reply = openai_client.chat.completions.create(
        model="policyqa",
        messages=[
            {"role": "system", "content": "你是助手"},
            {"role": "user", "content": "江北区的统计合作由谁负责？"},
            {"role": "assistant", "content": "区统计局。"},
            {"role": "user", "content": "谁负责医保跨省结算？"},
        ],
    )
    content = reply.choices[0].message.content
    assert content.startswith("区医保局。依据：") and "\n\n依据：\n[1] 《" in content
    assert "/docs/003_" in content  # each reference links to the highlighted clause
    assert reply.choices[0].finish_reason == "stop" and reply.object == "chat.completion"
    citations = reply.model_extra["citations"]
    assert citations[0]["clause_path"] == ITEM_16 and reply.model_extra["found"] is True


def test_content_parts_are_accepted(openai_client):
    reply = openai_client.chat.completions.create(
        model="policyqa",
        messages=[{"role": "user", "content": [{"type": "text", "text": "谁负责医保跨省结算？"}]}],
    )
    assert reply.choices[0].message.content.startswith("区医保局。")


def test_streaming_sends_chunks_and_ends(openai_client):
    stream = openai_client.chat.completions.create(
        model="policyqa",
        messages=[{"role": "user", "content": "谁负责医保跨省结算？"}],
        stream=True,
    )
    chunks = list(stream)  # the client stops at data: [DONE]
    assert len(chunks) > 3
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert text.startswith("区医保局。依据：") and "\n\n依据：\n[1]" in text
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop"
    assert last.model_extra["citations"][0]["clause_path"] == ITEM_16


def test_not_found_answers_say_so(openai_client):
    reply = openai_client.chat.completions.create(
        model="policyqa",
        messages=[{"role": "user", "content": "江北区安排给黄州区的专项资金具体是多少万元？"}],
    )
    content = reply.choices[0].message.content
    assert content.startswith("未在已收录的政策文件中找到相关规定。")
    assert "可能相关的条款：" in content
    assert reply.model_extra["found"] is False
