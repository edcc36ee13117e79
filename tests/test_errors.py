"""Every error the package raises on purpose lives in ``rag.errors`` with its HTTP status and
code; the server has one handler for them all and the CLI prints any of them as one line."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import rag.cli
import rag.evaluate  # noqa: F401  (BadGold lives there: it must be among the classes checked)
import rag.server  # noqa: F401  (imports every module that raises an error)
from rag import errors
from rag.errors import RagError, TooManyRequests
from rag.server import create_app
from rag.throttle import retry_after

PACKAGE = Path(rag.cli.__file__).resolve().parent
ELSEWHERE = {"BadGold": "rag.evaluate"}  # owned by the evaluation module; a RagError all the same


def _all(cls: type[RagError]) -> list[type[RagError]]:
    return [cls] + [sub for direct in cls.__subclasses__() for sub in _all(direct)]


ERRORS = sorted(set(_all(RagError)), key=lambda c: c.__name__)


def test_every_error_class_has_a_status_and_a_stable_code():
    assert len(ERRORS) > 30  # the walk found them (not just the base class)
    for cls in ERRORS:
        assert 400 <= cls.status <= 599 and cls.status != 500, cls
        assert re.fullmatch(r"[A-Z][A-Za-z]+", cls.code), cls
    codes = [cls.code for cls in ERRORS]
    assert len(codes) == len(set(codes)), "two error classes share a code"
    # codes clients already branch on (README, docs, bots) stay as they were
    known = {
        "BadQuestion": 400,
        "UnknownDocument": 404,
        "NoApiKey": 503,
        "NotReady": 503,
        "TooManyRequests": 429,
        "BodyTooLarge": 413,
        "BodyTimeout": 408,
        "Overloaded": 503,
        "TooManyConnections": 503,
        "Unauthorized": 401,
    }
    assert {c.code: c.status for c in ERRORS if c.code in known} == known


def test_a_subclass_gets_its_own_code_unless_it_names_one():
    class SomethingBroke(errors.BadUpload):
        pass

    class Renamed(errors.BadUpload):
        code = "OldName"

    assert (SomethingBroke.code, SomethingBroke.status) == ("SomethingBroke", 400)
    assert Renamed.code == "OldName" and errors.BadUpload.code == "BadUpload"


def test_error_classes_are_defined_in_rag_errors_only():
    """Read from the source: a ``class X(SomeError)`` or ``class X(Exception)`` anywhere else in
    the package is a second home for errors."""
    names = {cls.__name__ for cls in ERRORS} | {"Exception"}
    found = {}
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                bases = {
                    b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in node.bases
                }
                if bases & names:
                    found[node.name] = path.relative_to(PACKAGE.parent).with_suffix("")
    elsewhere = {n: ".".join(p.parts) for n, p in found.items() if p.parts != ("rag", "errors")}
    assert elsewhere == ELSEWHERE
    assert {cls.__module__ for cls in ERRORS} == {"rag.errors", *ELSEWHERE.values()}


@pytest.fixture(scope="module")
def raising_client(hashing_settings, hashing_engine):
    """The real app with one extra route that raises the error class it is named after."""
    app = create_app(hashing_settings, hashing_engine)
    by_name = {cls.__name__: cls for cls in ERRORS}

    def fail(name: str) -> None:
        raise by_name[name]("what to do about it")

    app.add_api_route("/raise/{name}", fail)
    with TestClient(app) as client:
        yield client


@pytest.mark.parametrize("cls", ERRORS, ids=lambda c: c.__name__)
def test_the_handler_answers_each_error_with_its_status_and_json(raising_client, cls):
    r = raising_client.get(f"/raise/{cls.__name__}")
    assert r.status_code == cls.status
    assert r.headers["content-type"] == "application/json"
    assert r.json() == {"error": cls.code, "detail": "what to do about it"}
    if cls.retry_after:
        assert r.headers["retry-after"] == retry_after(cls.retry_after)
    if cls.status == 401:
        assert r.headers["www-authenticate"] == "Bearer"


def test_an_error_may_say_when_to_come_back(raising_client):
    app = raising_client.app

    def slow_down() -> None:
        raise TooManyRequests("wait a bit", retry_after=12.2)

    app.add_api_route("/raise-with-wait", slow_down)
    r = raising_client.get("/raise-with-wait")
    assert r.status_code == 429 and r.headers["retry-after"] == "13"
    assert errors.Unauthorized("x").retry_after is None  # nothing made up when unknown


@pytest.mark.parametrize("cls", ERRORS, ids=lambda c: c.__name__)
def test_the_cli_prints_any_error_as_one_line_and_exits_1(monkeypatch, capsys, cls):
    def command() -> None:
        raise cls("first line\nsecond [bold]line[/bold]")

    monkeypatch.setattr(rag.cli, "app", command)
    with pytest.raises(SystemExit) as exit_:
        rag.cli.main()
    assert exit_.value.code == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == "error: first line?second [bold]line[/bold]\n"
