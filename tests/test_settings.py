from __future__ import annotations

from pathlib import Path

import pytest

from rag.errors import BadSetting
from rag.settings import Settings, describe

from .conftest import REPO


def test_every_setting_is_documented_in_the_readme():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for name, _, _ in describe():
        assert f"`{name}`" in readme, name
    guide = (REPO / "docs" / "integrations.md").read_text(encoding="utf-8")
    for name, _, _ in describe():
        if any(tool in name for tool in ("WECOM", "DINGTALK", "FEISHU")):
            assert f"`{name}`" in guide, name


def test_environment_overrides_are_typed():
    s = Settings.from_env({"RAG_INDEX_DIR": "/srv/idx", "RAG_TOP_K": "9", "RAG_LLM_TIMEOUT": "2.5"})
    assert s.index_dir == Path("/srv/idx") and s.top_k == 9 and s.llm_timeout == 2.5
    assert Settings.from_env({}).max_tokens == 256


def test_badly_typed_environment_values_are_clear_errors():
    with pytest.raises(BadSetting, match="RAG_TOP_K='abc' is not a valid int"):
        Settings.from_env({"RAG_TOP_K": "abc"})


def test_with_ignores_unset_options():
    s = Settings().with_(index_dir=None, corpus_dir=Path("x"))
    assert s.index_dir == Path("index") and s.corpus_dir == Path("x")
