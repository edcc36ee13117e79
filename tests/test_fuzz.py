"""Schema fuzzing: schemathesis generates requests for every operation the app's /openapi.json
lists and runs all its checks on each response (no 5xx, status code, content type and body as
documented, schema-valid data accepted, invalid data rejected, 405 with ``Allow``…).

Reproducible: a fixed seed, derandomized Hypothesis and a fixed number of examples per
operation, plus schemathesis's coverage cases. Split in two so the fast suite stays fast: the
fast test runs every coverage case and FAST_EXAMPLES generated cases per operation; the
``slow`` one (run by CI, ``make test``) MAX_EXAMPLES generated cases per operation, without
repeating the coverage cases (schemathesis builds those at collection, even for a deselected
test). While checks fail, each operation stops at its first failure.

What the schema does not list is not fuzzed here, on purpose: the chat page, login and
document viewer (``include_in_schema=False``: HTML pages, not API) and the static files —
tests/test_hostile.py sends hostile input to each of those.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import time
from pathlib import Path

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings

from rag.server import create_app
from rag.settings import Settings

MAX_EXAMPLES = 100  # generated cases per operation in the slow run (coverage adds its own)
FAST_EXAMPLES = 10  # the same in the fast suite
SEED = 20_260_409

# Bots answer 404 "not configured" without secrets: configure them so the fuzzer reaches them.
WECOM = {
    "token": "QDG6eK",
    "key": "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
    "corp": "wx5823bf96d3bd56c7",
}  # 企业微信's published sample configuration
DING_SECRET = "ding-fuzz-secret"
BOTS = {
    "wecom_token": WECOM["token"],
    "wecom_aes_key": WECOM["key"],
    "wecom_corp_id": WECOM["corp"],
    "dingtalk_app_secret": DING_SECRET,
    "feishu_app_id": "cli_fuzz",
    "feishu_app_secret": "feishu-fuzz-secret",
    "feishu_verification_token": "feishu-fuzz-token",
    "feishu_api_base": "http://127.0.0.1:9",  # never the network: a reply would fail locally
}
ACCEPTED_OR_400 = ["2xx", "400", "401", "403", "404", "409", "429"]
CONFIG = {
    "seed": SEED,
    "generation": {"mode": "all", "max-examples": MAX_EXAMPLES, "deterministic": True},
    # Every built-in check stays on (the default). Three allowances, where a schema-valid request
    # may rightly be refused with 400 (positive_data_acceptance otherwise expects 2xx/401/403/
    # 404/409/429):
    "operations": [
        {
            # OpenAI-compatible: a conversation without a question (only system messages, or
            # only image parts) is answered 400 invalid request, as OpenAI does; JSON Schema
            # cannot say "some user message has text".
            "include-name": "POST /v1/chat/completions",
            "checks": {"positive_data_acceptance": {"expected-statuses": ACCEPTED_OR_400}},
        },
        {
            # Bot callbacks: valid only when the ciphertext decrypts and the vendor's signature
            # matches, which no schema can describe; anything else is a 400/401/403.
            "include-path-regex": "^/integrations/",
            "checks": {"positive_data_acceptance": {"expected-statuses": ACCEPTED_OR_400}},
        },
        {
            # Uploads: valid only when each file is a readable document with a usable name and
            # extension, which no schema can describe; anything else is a 400/409/413.
            "include-name": "POST /api/docs",
            "checks": {
                "positive_data_acceptance": {"expected-statuses": [*ACCEPTED_OR_400, "413"]}
            },
        },
    ],
}


def served_schema() -> dict:
    """The OpenAPI document the app serves. Read without starting the app (no lifespan, no
    engine): the document does not depend on the index."""
    app = create_app(Settings(embedder="hashing", state_dir=Path("/nonexistent/fuzz-state")))
    return TestClient(app).get("/openapi.json").json()


def fuzz_schema(served: dict, max_examples: int, coverage: bool):
    config = {
        **CONFIG,
        "generation": {**CONFIG["generation"], "max-examples": max_examples},
        "phases": {"coverage": {"enabled": coverage}},
    }
    return schemathesis.openapi.from_dict(served, config=schemathesis.Config.from_dict(config))


SERVED = served_schema()
fast_schema = fuzz_schema(SERVED, FAST_EXAMPLES, coverage=True)
full_schema = fuzz_schema(SERVED, MAX_EXAMPLES, coverage=False)


@pytest.fixture(scope="module")
def fuzz_app(hashing_engine, tmp_path_factory):
    """The app over the hashing-embedder index, bots configured, no API keys."""
    state = tmp_path_factory.mktemp("fuzz-state")
    app = create_app(hashing_engine.settings.with_(state_dir=state, **BOTS), hashing_engine)
    with TestClient(app):  # runs the lifespan, as a server would
        yield app


_serial = itertools.count(1)


def signed_like_the_vendor(case) -> None:
    """Sign bot requests as 企业微信 and 钉钉 do, with a fresh timestamp, so generated values
    reach the parsers behind the signature checks (forged, stale and hostile signatures and
    timestamps are in tests/test_hostile.py). 飞书 without an Encrypt Key needs no signature."""
    path, query = case.operation.path, case.query
    if path == "/integrations/dingtalk":
        ts = str(int(time.time() * 1000) - next(_serial))  # unique: replays may be refused
        mac = hmac.new(DING_SECRET.encode(), f"{ts}\n{DING_SECRET}".encode(), hashlib.sha256)
        case.headers = {
            **(case.headers or {}),
            "timestamp": ts,
            "sign": base64.b64encode(mac.digest()).decode(),
        }
    elif path == "/integrations/wecom" and isinstance(query, dict) and "timestamp" in query:
        query["timestamp"] = str(int(time.time()))
        nonce, echostr = query.get("nonce"), query.get("echostr")
        if isinstance(nonce, str) and isinstance(echostr, str) and "msg_signature" in query:
            parts = sorted([WECOM["token"], query["timestamp"], nonce, echostr])
            query["msg_signature"] = hashlib.sha1("".join(parts).encode()).hexdigest()


def hypothesis_settings(max_examples: int) -> settings:
    return settings(
        max_examples=max_examples,
        derandomize=True,
        database=None,
        deadline=None,  # timings vary on a shared machine; the example count bounds the run
        # Generating large or constrained bodies is slow or filtered on purpose; not a failure.
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.filter_too_much,
            HealthCheck.data_too_large,
        ],
    )


def survives(case, app) -> None:
    signed_like_the_vendor(case)
    # 60 s per request: a hang still fails; a loaded CI machine (10 s was hit once) does not
    case.call_and_validate(app=app, timeout=60)


@fast_schema.parametrize()
@hypothesis_settings(FAST_EXAMPLES)
def test_every_operation_survives_fuzzing(case, fuzz_app):
    survives(case, fuzz_app)


@full_schema.parametrize()
@pytest.mark.slow
@hypothesis_settings(MAX_EXAMPLES)
def test_every_operation_survives_long_fuzzing(case, fuzz_app):
    survives(case, fuzz_app)


def test_the_fuzzer_sees_every_api_operation():
    """Nothing is left out silently: every route of the JSON API, the OpenAI-compatible API and
    the bots is in the schema the fuzzer reads."""
    operations = {f"{m.upper()} {p}" for p, ops in served_schema()["paths"].items() for m in ops}
    assert operations >= {
        "GET /healthz",
        "POST /api/ask",
        "POST /api/ask/stream",
        "GET /api/search",
        "GET /api/docs",
        "GET /api/docs/{doc_id}",
        "GET /v1/models",
        "POST /v1/chat/completions",
        "GET /integrations/wecom",
        "POST /integrations/wecom",
        "POST /integrations/dingtalk",
        "POST /integrations/feishu",
    }
