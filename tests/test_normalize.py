from __future__ import annotations

import re
from pathlib import Path

import pytest

from rag.errors import UnreadableFile
from rag.normalize import read_document
from rag.zh import fold

from .conftest import CORPUS, DOC


def doc(n: str):
    return read_document(CORPUS / f"{DOC[n]}.txt")


def test_004_pinyin_stripped_traditional_kept_for_display_and_simplified_for_matching():
    d = doc("004")
    assert not re.search(r"\([a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜ]+\)", d.text)
    assert "建強工業社區黨委" in d.text  # display stays as written
    folded = fold(d.text)
    assert "建强工业社区党委" in folded
    assert "紹興" not in folded and "绍兴" in folded
    for figure in ("189", "3291", "9000", "280", "1.7", "2.6"):
        assert figure in d.text
    for phrase in ("事项189项", "欠薪纠纷3291件", "政策兑现9000余万元", "下辖280多家规上企业"):
        assert phrase in folded


def test_004_mojibake_survives_and_footer_moves_to_metadata():
    d = doc("004")
    assert "匯流入" in d.text and "百川”品牌。" in d.text
    assert d.meta["来源"] == "柯橋組工"
    assert "編輯" not in d.text and "主編" not in d.text


def test_002_web_boilerplate_removed():
    d = doc("002")
    for junk in ("首页 >", "相关阅读", "无相关信息", "可发送邮件", "来源:", "2023/03/22"):
        assert junk not in d.text
    assert d.title == "昆山开发区打造和谐善治示范园区行动计划(2023~2025年)"
    assert d.meta == {"发布日期": "2023/03/22 17:13", "来源": "昆山开发区党政办公室"}
    assert d.text.endswith("引导基层干部秉公用权、改革创新、担当作为。")


def test_003_metadata_header():
    d = doc("003")
    assert d.meta["索引号"] == "2950827/2023-56012"
    assert d.meta["发布机构"] == "区发改局"
    assert d.meta["成文日期"] == "2023-06-30"
    assert d.meta["发布日期"] == "2023年6月30日"
    assert d.meta["体裁分类"] == "通知"
    assert "浏览次数" not in d.text and "索引号" not in d.text
    assert d.title.startswith("关于印发《2023 年江北区与黄州区") and d.title.endswith("的通知")
    assert (d.issuer, d.date) == ("区发改局", "2023-06-30")


def test_000_split_title_and_hard_line_breaks_joined():
    d = doc("000")
    assert d.title == "关于深化宁波石化经济技术开发区与澥浦镇和谐联动的实施意见"
    assert "积极开展学习观摩、走访慰问" in d.text
    assert (
        "积极创建“示范职工食堂”，提高食品安全的社会知晓率和覆盖面，提升企业食品安全意识" in d.text
    )
    assert "\n一、指导思想\n" in d.text


def test_001_page_break_inside_sentence_joined():
    d = doc("001")
    assert "巩固提升非公企业党组织标准化规范化建设水平" in d.text
    assert "推进新型研发机构" in d.text


def test_fold_is_length_preserving_on_every_document():
    for n in DOC:
        text = doc(n).text
        assert len(fold(text)) == len(text)


def test_gb18030_file_is_decoded(tmp_path: Path):
    path = tmp_path / "gbk.txt"
    path.write_bytes("关于印发通知\n一、总则\n推进异地就医结算。".encode("gb18030"))
    d = read_document(path)
    assert d.title == "关于印发通知" and "异地就医" in d.text


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty file"),
        (b"   \n\n", "empty file"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "an image"),
        (b"\x00\x01\x02binary\x00", "binary"),
        (bytes(range(128, 256)) * 4, "cannot tell the text encoding.*save it as UTF-8"),
    ],
)
def test_unreadable_files_raise_named_error(tmp_path: Path, content: bytes, reason: str):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    with pytest.raises(UnreadableFile, match=reason):
        read_document(path)


def test_crlf_and_bom_handled(tmp_path: Path):
    path = tmp_path / "win.txt"
    path.write_bytes("\ufeff标题通知\r\n一、总则\r\n正文内容。\r\n".encode())
    d = read_document(path)
    assert d.text == "标题通知\n一、总则\n正文内容。"
