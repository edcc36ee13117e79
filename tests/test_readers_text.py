"""Text decoding (issue 9 defect 12: Big5 indexed as garbage, UTF-16 called binary) and the
北大法宝 header block.

Sentences come from dev-corpus documents: 香港警務處《運作原則及指引》(dev d41, traditional) and
国务院关于促进综合保税区高水平开放高质量发展的若干意见 (dev d01, simplified).
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from rag.clauses import parse_clauses
from rag.errors import UnreadableFile
from rag.normalize import read_document
from rag.readers import read
from rag.readers.text import detect, header_fields, markdown_lines, plausibility

TRADITIONAL = (
    "警務處人員根據附表6執行職能時，有責任遵守《運作原則及指引》的條文。如有任何人員不遵守附表6"
    "的條文、有關訂明授權或器材取出手令的條款、或《運作原則及指引》的條文，警務處必須向香港特別"
    "行政區維護國家安全委員會報告。\n"
    "2. 除文意另有所指外，《運作原則及指引》所採用的詞語的釋義，與附表6所載列者相同。\n"
    "3. 《基本法》第三章就有關權利和自由提供保障。基本原則是任何根據附表6獲授權和進行的秘密行動"
    "對這些權利和自由的影響，必須是有關行動謀求達到的目的所必需，並且是與該等目的相稱。"
)
SIMPLIFIED = (
    "国务院关于促进综合保税区高水平开放高质量发展的若干意见\n"
    "一、指导思想\n"
    "以习近平新时代中国特色社会主义思想为指导，坚持稳中求进工作总基调，坚持新发展理念，打造具有"
    "国际竞争力和创新力的海关特殊监管区域。\n"
    "二、基本原则\n"
    "（一）坚持深化改革，简政放权。进一步健全综合监管体系，持续改善营商环境和创新环境，有效降低"
    "市场运行成本，充分激发市场活力。"
)


@pytest.mark.parametrize(
    ("text", "encoding", "found"),
    [
        (TRADITIONAL, "big5", "big5"),  # decodes "successfully" as GB18030 too, into garbage
        (TRADITIONAL, "cp950", "big5"),
        (TRADITIONAL, "gb18030", "gb18030"),  # traditional text saved as GB18030
        (SIMPLIFIED, "gb18030", "gb18030"),
        (SIMPLIFIED, "gbk", "gb18030"),
        (SIMPLIFIED + "𠀀", "gb18030", "gb18030"),  # a four-byte GB18030 character
        (SIMPLIFIED, "utf-8", "utf-8"),
    ],
)
def test_legacy_and_utf8_decoded_to_the_original(text: str, encoding: str, found: str):
    decoded = detect(text.encode(encoding), "x.txt")
    assert decoded.text == text
    assert decoded.encoding == found


def test_big5_as_gb18030_is_what_the_plausibility_score_rejects():
    raw = TRADITIONAL.encode("big5")
    garbage = raw.decode("gb18030")  # no error: this is what used to be indexed
    assert garbage != TRADITIONAL
    assert plausibility(garbage) < 0.5 < 0.95 < plausibility(TRADITIONAL)


@pytest.mark.parametrize(
    ("encoding", "bom"),
    [
        ("utf-16-le", b"\xff\xfe"),
        ("utf-16-be", b"\xfe\xff"),
        ("utf-16-le", b""),
        ("utf-16-be", b""),
        ("utf-32-le", b"\xff\xfe\x00\x00"),
        ("utf-32-be", b"\x00\x00\xfe\xff"),
        ("utf-8", b"\xef\xbb\xbf"),
    ],
)
@pytest.mark.parametrize("text", [TRADITIONAL, SIMPLIFIED])
def test_unicode_with_and_without_bom(text: str, encoding: str, bom: bytes):
    decoded = detect(bom + text.replace("\n", "\r\n").encode(encoding), "x.txt")
    assert decoded.text == text and decoded.encoding == encoding


def test_line_ends_crlf_and_cr_become_lf():
    assert detect(b"a\r\nb\rc\n", "x.txt").text == "a\nb\nc\n"


def test_utf16_file_is_a_document_not_binary(tmp_path: Path):
    path = tmp_path / "utf16.txt"
    path.write_bytes(SIMPLIFIED.replace("\n", "\r\n").encode("utf-16"))  # what Notepad writes
    doc = read_document(path)
    assert doc.title == SIMPLIFIED.split("\n")[0]
    assert [c.label for c in parse_clauses(doc).clauses][:2] == ["一、", "二、"]


def test_a_file_cut_mid_character_keeps_its_text_with_a_note(tmp_path: Path):
    path = tmp_path / "cut.txt"
    path.write_bytes(SIMPLIFIED.encode("gb18030")[:-1])
    doc = read_document(path)
    assert doc.text.endswith("充分激发市场活力\ufffd")
    assert "1 undecodable byte sequence(s) replaced" in doc.meta["说明"]


@pytest.mark.parametrize(
    "raw",
    [
        bytes(b | 0x80 for b in random.Random(8).randbytes(3000)),
        bytes(range(128, 256)) * 4,
        # two files glued together, Big5 then GB18030: every decoding is half garbage
        (TRADITIONAL + "\n").encode("big5") + SIMPLIFIED.encode("gb18030"),
    ],
)
def test_no_plausible_encoding_refused_naming_the_file(raw: bytes):
    with pytest.raises(UnreadableFile, match=r"^通知\.txt: cannot tell .* save it as UTF-8"):
        detect(raw, "通知.txt")


def test_nul_bytes_without_utf16_pattern_are_binary():
    raw = random.Random(3).randbytes(4000) + b"\x00\x00"
    with pytest.raises(UnreadableFile, match=r"^x\.txt: binary file"):
        detect(raw, "x.txt")


# --- 北大法宝 exports ---------------------------------------------------------------------------

PKULAW = """【法宝引证码】CLI.2.326452
原文链接：https://www.pkulaw.com/chl/2c0a8b4bd7e3bd79bdfb.html
发布部门：国务院
发文字号：国发〔2019〕3号
发布日期：2019.01.12
实施日期：2019.01.12
时效性：现行有效
效力位阶：国务院规范性文件
法规类别：海关综合规定

国务院关于促进综合保税区高水平开放高质量发展的若干意见
(2019年1月12日　国发〔2019〕3号)
各省、自治区、直辖市人民政府，国务院各部委、各直属机构：
一、指导思想
以习近平新时代中国特色社会主义思想为指导，坚持稳中求进工作总基调，坚持新发展理念。
二、基本原则
（一）坚持深化改革，简政放权。
进一步健全综合监管体系，持续改善营商环境和创新环境。
时效性：本条不是页首的字段，留在正文里。
"""  # a synthetic export in 北大法宝's layout (no real export is in the corpus)


def test_pkulaw_header_block_becomes_metadata(tmp_path: Path):
    path = tmp_path / "pkulaw.txt"
    path.write_bytes(PKULAW.encode("gb18030"))
    doc = read_document(path)
    assert doc.title == "国务院关于促进综合保税区高水平开放高质量发展的若干意见"
    assert {
        k: doc.meta[k]
        for k in (
            "法宝引证码",
            "原文链接",
            "发文机关",
            "发文字号",
            "实施日期",
            "时效性",
            "效力位阶",
            "法规类别",
        )
    } == {
        "法宝引证码": "CLI.2.326452",
        "原文链接": "https://www.pkulaw.com/chl/2c0a8b4bd7e3bd79bdfb.html",
        "发文机关": "国务院",
        "发文字号": "国发〔2019〕3号",
        "实施日期": "2019.01.12",
        "时效性": "现行有效",
        "效力位阶": "国务院规范性文件",
        "法规类别": "海关综合规定",
    }
    assert doc.meta["发布日期"] == "2019.01.12"
    assert "法宝" not in doc.text and "原文链接" not in doc.text
    assert "时效性：本条不是页首的字段，留在正文里。" in doc.text  # past the header block
    paths = [c.path_text for c in parse_clauses(doc).clauses]
    assert paths[:3] == [
        "一、指导思想",
        "二、基本原则",
        "二、基本原则 › （一）坚持深化改革，简政放权",
    ]


def test_bracketed_fields_after_the_title_and_closing_citation_code():
    """The other layout: title first, 【key】value fields, 【正文】, the citation code last."""
    lines = [
        "國務院關於促進綜合保稅區高水平開放高質量發展的若干意見",
        "【發佈部門】國務院",
        "【發文字號】國發〔2019〕3號 【效力級別】國務院規範性文件",
        "【正文】",
        "一、指導思想",
        "堅持新發展理念。",
        "",
        "【法寶引證碼】CLI.2.326452",
        "",
    ]
    meta, rest = header_fields(lines)
    assert meta == {
        "发文机关": "國務院",
        "发文字号": "國發〔2019〕3號",
        "效力位阶": "國務院規範性文件",
        "法宝引证码": "CLI.2.326452",
    }
    assert rest == [lines[0], "一、指導思想", "堅持新發展理念。"]


def test_text_without_header_keeps_every_line():
    lines = SIMPLIFIED.split("\n")
    assert header_fields(lines) == ({}, lines)
    assert [line.text for line in read(SIMPLIFIED.encode(), "x.txt").lines] == lines


# Markdown pipe tables (issue 11): a synthetic 任务分工 list in the layout our synthetic corpus
# uses; each row must become an item of its own with its units as an annotation.
TASKS_MD = """# 青川市2026年养老服务提升行动任务分工

青川市人民政府办公室　2026年2月10日

## 一、完善服务网络

| 序号 | 工作任务 | 牵头单位 | 配合单位 | 完成时限 |
| :---: | :--- | ---: | --- | --- |
| 1 | 新建**社区嵌入式**养老服务中心12个 | 市民政局 | 市住房城乡建设局<br>市财政局 | 2026年9月底前 |
| 2 | 开展家庭养老床位建设，每床补助\\|3000元 | 市民政局 | 各区人民政府 | 2026年底 |
| 3 | 推进医养结合机构备案 | 市卫生健康委 |
二、其他
各单位于每季度末报送进展情况。
"""


def _rows(text: str, tmp_path: Path):
    path = tmp_path / "tasks.md"
    path.write_text(text, encoding="utf-8")
    doc = read_document(path)
    return doc, parse_clauses(doc)


def test_markdown_pipe_table_rows_are_items_with_unit_annotations(tmp_path: Path):
    doc, tree = _rows(TASKS_MD, tmp_path)
    lines = doc.text.split("\n")
    assert (
        "1.工作任务：新建社区嵌入式养老服务中心12个；完成时限：2026年9月底前（牵头单位：市民政局；配合单位：市住房城乡建设局、市财政局）"
        in lines
    )
    assert (
        "2.工作任务：开展家庭养老床位建设，每床补助|3000元；完成时限：2026年底（牵头单位：市民政局；配合单位：各区人民政府）"
        in lines
    )
    assert (
        "3.工作任务：推进医养结合机构备案（牵头单位：市卫生健康委）" in lines
    )  # ragged row padded
    assert not any("|" in line and "---" in line for line in lines)  # no separator row left
    assert "**" not in doc.text
    items = [c.path_text for c in tree.clauses]
    # (the issuer/date line above becomes a heading of its own: rag.clauses, see the report)
    assert any(p.endswith("一、完善服务网络 › 1.工作任务") for p in items)
    assert any(p.endswith("一、完善服务网络 › 3.工作任务") for p in items)
    first = tree.responsibilities_in(*_span(doc.text, "新建社区嵌入式"))
    assert [(r.lead, r.participants, r.deadline) for r in first] == [
        (("市民政局",), ("市住房城乡建设局", "市财政局"), "2026年9月底前")
    ]
    third = tree.responsibilities_in(*_span(doc.text, "推进医养结合"))
    assert [(r.lead, r.participants) for r in third] == [(("市卫生健康委",), ())]
    assert "各单位于每季度末报送进展情况。" in lines  # text after the table stays a line


def _span(text: str, needle: str) -> tuple[int, int]:
    start = text.index(needle)
    return start, start + len(needle)


def test_pipes_without_a_separator_row_stay_text():
    lines = ["| 序号 | 工作任务 | 牵头单位 |", "| 1 | 新建中心 | 市民政局 |", "甲|乙"]
    assert markdown_lines(lines) == lines
    # a separator whose cell count differs from the header's, or a lone rule, is no table
    assert markdown_lines(["| a | b |", "| --- |", "| 1 | 2 |"]) == [
        "| a | b |",
        "| --- |",
        "| 1 | 2 |",
    ]
    assert markdown_lines(["标题", "---", "正文"]) == ["标题", "---", "正文"]


def test_table_without_outer_pipes_and_rows_longer_than_the_header():
    lines = [
        "事项 | 时限",
        "--- | :---:",
        "受理 | 1个工作日 | 多余",
        "办结 | 3个工作日",
        "",
        "完。",
    ]
    assert markdown_lines(lines) == [
        "事项：受理；时限：1个工作日。",
        "事项：办结；时限：3个工作日。",
        "",
        "完。",
    ]


def test_markdown_bold_markers_removed_but_lone_asterisks_kept():
    lines = [
        "**问：补贴标准是多少？**",
        "**答：**每辆补贴500元。",
        "注*：不含税",
        "a ** b",
        "以***和***为",
    ]
    assert markdown_lines(lines) == [
        "问：补贴标准是多少？",
        "答：每辆补贴500元。",
        "注*：不含税",
        "a ** b",
        "以***和***为",  # redaction marks are not bold
    ]


def test_header_line_with_a_field_the_reader_does_not_know_is_left_to_normalisation(
    tmp_path: Path,
):
    path = tmp_path / "faq.md"
    path.write_text("# 某政策解读\n\n发布日期：2026-04-10　来源：某市商务局\n\n问：何时截止？\n")
    doc = read_document(path)
    assert (doc.meta["发布日期"], doc.meta["来源"]) == ("2026-04-10", "某市商务局")
    # a line of known fields only is still lifted into meta by the reader
    meta, _ = header_fields(["发布部门：国务院 发文字号：国发〔2019〕3号", "正文。"])
    assert meta == {"发文机关": "国务院", "发文字号": "国发〔2019〕3号"}
