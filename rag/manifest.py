"""The shape of ``manifest.json``, checked before any value in it is trusted.

A hand-written schema (no dependency): a type is checked with ``isinstance`` (``bool`` is not a
number), a dict literal lists required keys (more keys are allowed), ``DictOf``/``ListOf`` check
every value, a ``frozenset`` lists the allowed values. ``problems`` names the first bad path.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any


@dataclass(frozen=True)
class DictOf:
    value: Any


@dataclass(frozen=True)
class ListOf:
    item: Any


@dataclass(frozen=True)
class Positive:
    """An int > 0 (a dimension)."""


COUNT = int
SCHEMA = {
    "format": int,
    "model": {"id": str, "dimension": Positive(), "prompts": DictOf(str)},
    "chunking": {"tokenizer": str, "max_tokens": int, "merge_below": int},
    "dense": {"kind": frozenset({"flat", "hnsw"}), "metric": str},
    "bm25": {"k1": float, "b": float, "vocabulary": COUNT, "unit_words": COUNT},
    "files": DictOf({"sha256": str, "doc_id": str}),
    "skipped": ListOf({"file": str, "reason": str}),
    "counts": {"documents": COUNT, "chunks": COUNT, "vectors": COUNT, "sentences": COUNT},
    "built_at": str,
    "build_seconds": float,
    "artifacts": DictOf(str),
}


def problem(value: Any, schema: Any = None, where: str = "manifest") -> str | None:
    """The first place ``value`` does not fit ``schema`` (``SCHEMA`` by default), or None.

    >>> problem({"a": [1, "x"]}, {"a": ListOf(int)})
    "manifest.a[1] should be int, not 'x'"
    >>> problem(None, {"a": int}), problem({"a": True}, {"a": int})
    ('manifest should be an object, not None', 'manifest.a should be int, not True')
    """
    schema = SCHEMA if schema is None else schema
    if isinstance(schema, dict):
        if not isinstance(value, dict):
            return f"{where} should be an object, not {_short(value)}"
        for key, sub in schema.items():
            if key not in value:
                return f"{where}.{key} is missing"
            found = problem(value[key], sub, f"{where}.{key}")
            if found:
                return found
        return None
    if isinstance(schema, DictOf):
        if not isinstance(value, dict):
            return f"{where} should be an object, not {_short(value)}"
        for key, sub in value.items():
            found = problem(sub, schema.value, f"{where}[{key!r}]")
            if found:
                return found
        return None
    if isinstance(schema, ListOf):
        if not isinstance(value, list):
            return f"{where} should be a list, not {_short(value)}"
        for i, item in enumerate(value):
            found = problem(item, schema.item, f"{where}[{i}]")
            if found:
                return found
        return None
    if isinstance(schema, frozenset):
        return None if value in schema else f"{where} should be one of {sorted(schema)}"
    if isinstance(schema, Positive):
        ok = isinstance(value, int) and not isinstance(value, bool) and value > 0
        return None if ok else f"{where} should be a positive int, not {_short(value)}"
    kinds = (int, float) if schema is float else schema
    if isinstance(value, bool) or not isinstance(value, kinds):
        return f"{where} should be {schema.__name__}, not {_short(value)}"
    return None


def artifact_problem(name: str) -> str | None:
    """An artifact must be a plain relative path inside the index folder.

    >>> artifact_problem("bm25/params.index.json"), artifact_problem("../../etc/passwd")
    (None, "artifact '../../etc/passwd' is not a path inside the index folder")
    """
    path = PurePosixPath(name)
    if not name or path.is_absolute() or ".." in path.parts or "\\" in name:
        return f"artifact {name!r} is not a path inside the index folder"
    return None


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
