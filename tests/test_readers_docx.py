"""Word .docx reader: body order, Word's automatic numbering, merged table cells, zip limits.

The documents are built here with python-docx and real WordprocessingML numbering parts, from
sentences of two dev-corpus documents: 国务院关于促进综合保税区高水平开放高质量发展的若干意见
(国发〔2019〕3号, dev d01) and the 任务分工表 of 广州市家庭医生签约服务高质量发展实施方案 (dev d26).
"""

from __future__ import annotations

import io
import struct
import time
import zipfile
from pathlib import Path

import docx
import pytest
from docx.enum.style import WD_STYLE_TYPE
from docx.oxml import parse_xml
from docx.shared import Pt

from rag.clauses import parse_clauses
from rag.errors import UnreadableFile
from rag.normalize import read_document
from rag.readers import read, sniff
from rag.readers.docx import MAX_ENTRIES, number

NS = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'

TITLE = "国务院关于促进综合保税区高水平开放高质量发展的若干意见"
INTRO = (
    "综合保税区是开放型经济的重要平台，对发展对外贸易、吸引外商投资、促进产业转型升级发挥着"
    "重要作用。为贯彻落实党中央、国务院关于推动形成全面开放新格局的决策部署，现提出以下意见："
)
GUIDE = (
    "以习近平新时代中国特色社会主义思想为指导，坚持稳中求进工作总基调，坚持新发展理念，坚持高质量"
    "发展，打造具有国际竞争力和创新力的海关特殊监管区域。"
)
PRINCIPLE_1 = (
    "进一步健全综合监管体系，持续改善营商环境和创新环境，有效降低市场运行成本，充分激发市场活力。"
)
GOAL = (
    "对标高质量发展要求，完善政策，拓展功能，创新监管，培育综合保税区产业配套、营商环境等综合竞争"
    "新优势。"
)
ITEM_1 = (
    "拓展两个市场。积极稳妥地在综合保税区推广增值税一般纳税人资格试点。"
    "（税务总局、财政部、海关总署负责，排在第一位的部门为牵头部门，下同）"
)
ITEM_2 = (
    "提前适用政策。自国务院批准设立综合保税区之日起，对入区企业进口自用的机器设备等，在确保海关"
    "有效监管的前提下，可按现行规定享受综合保税区税收政策。（海关总署、财政部、税务总局负责）"
)
ITEM_6 = (
    "促进研发创新。除禁止进境的外，综合保税区内企业从境外进口且在区内用于研发的货物、物品，免于"
    "提交许可证件，进口的消耗性材料根据实际研发耗用核销。（海关总署、商务部等有关部门负责）"
)
DUTY = "海关总署要继续做好牵头工作，进一步优化区域布局，发挥东部地区创新引领作用。"
TABLE = [  # 附件2 任务分工表 of d26 (first rows), with a 完成时限 column
    ["序号", "工作事项", "主要内容", "牵头单位", "配合单位", "完成时限"],
    ["1", "有序扩大家庭医生来源。",
     "现阶段家庭医生包括全科医生、其他类别临床医师、乡村医生和退休临床医师，到2025年不低于4.66人。",
     "各区政府", "市卫生健康委", "2025年"],
    ["1", "有序扩大家庭医生来源。",
     "根据服务人口、功能定位等因素,推动人才资源向基层医疗卫生机构倾斜，力争2025年每千常住人口"
     "基层卫生人员数不低于3.5人。",
     "各区政府", "市卫生健康委、市人社局", "2025年"],
    ["2", "不断优化签约服务团队。",
     "家庭医生可以家庭医生个人为签约主体，也可以组建团队提供签约服务。",
     "各区政府", "市卫生健康委、市人社局", "持续推进"],
]  # fmt: skip


def lvl(
    ilvl: int,
    fmt: str,
    text: str,
    start: int = 1,
    restart: int | None = None,
    style: str = "",
    legal: bool = False,
    suff: str = "",
) -> str:
    """One ``w:lvl`` in schema order (start, numFmt, lvlRestart, pStyle, isLgl, suff, lvlText)."""
    return (
        f'<w:lvl w:ilvl="{ilvl}"><w:start w:val="{start}"/><w:numFmt w:val="{fmt}"/>'
        + (f'<w:lvlRestart w:val="{restart}"/>' if restart is not None else "")
        + (f'<w:pStyle w:val="{style}"/>' if style else "")
        + ("<w:isLgl/>" if legal else "")
        + (f'<w:suff w:val="{suff}"/>' if suff else "")
        + f'<w:lvlText w:val="{text}"/><w:lvlJc w:val="left"/></w:lvl>'
    )


def numbering_xml(abstracts: dict[int, list[str]], nums: dict[int, str]) -> str:
    """A numbering part: abstract id → levels, num id → its inner XML (abstractNumId, …)."""
    body = "".join(
        f'<w:abstractNum w:abstractNumId="{a}"><w:multiLevelType w:val="multilevel"/>'
        + "".join(levels)
        + "</w:abstractNum>"
        for a, levels in abstracts.items()
    )
    body += "".join(f'<w:num w:numId="{n}">{inner}</w:num>' for n, inner in nums.items())
    return f"<w:numbering {NS}>{body}</w:numbering>"


def new_document(numbering: str) -> docx.Document:
    document = docx.Document()
    document.part.numbering_part._element = parse_xml(numbering)
    return document


def set_num(element, num_id: int | None, ilvl: int | None) -> None:
    """Put ``w:numPr`` on a paragraph's or a paragraph style's ``w:pPr``, as Word does."""
    num_pr = element.get_or_add_pPr().get_or_add_numPr()
    if ilvl is not None:
        num_pr.get_or_add_ilvl().val = ilvl
    if num_id is not None:
        num_pr.get_or_add_numId().val = num_id


def listed(
    document,
    text: str,
    num_id: int | None = None,
    ilvl: int | None = None,
    style: str | None = None,
):
    paragraph = document.add_paragraph(text, style=style)
    if num_id is not None or ilvl is not None:
        set_num(paragraph._p, num_id, ilvl)
    return paragraph


def to_bytes(document) -> bytes:
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def policy_docx() -> bytes:
    """The d01 opinion with Word numbering (一、/（一）/1. continuing across sections, as d01
    numbers its items 1.–21.), a heading style and a style chain carrying list levels, a bullet
    list, then 附件1 with the d26 任务分工表 whose 序号 and 工作事项 cells are merged down."""
    numbering = numbering_xml(
        {
            0: [
                lvl(0, "chineseCounting", "%1、", style="Heading1", suff="nothing"),
                lvl(1, "chineseCounting", "（%2）", suff="nothing"),
                lvl(2, "decimal", "%3.", restart=0, suff="nothing"),
            ],
            1: [lvl(0, "bullet", "\uf0b7")],
        },
        {1: '<w:abstractNumId w:val="0"/>', 2: '<w:abstractNumId w:val="1"/>'},
    )
    document = new_document(numbering)
    document.core_properties.title = TITLE
    styles = document.styles
    set_num(
        styles["Heading 1"].element, 1, None
    )  # ilvl comes from the level that names the style (w:pStyle)
    level2 = styles.add_style("任务层级", WD_STYLE_TYPE.PARAGRAPH)
    set_num(level2.element, 1, 1)
    task = styles.add_style("任务标题", WD_STYLE_TYPE.PARAGRAPH)
    task.base_style = level2  # numbering through basedOn
    task.font.size = Pt(16)

    document.add_paragraph(TITLE)
    document.add_paragraph("国发〔2019〕3号")
    document.add_paragraph("各省、自治区、直辖市人民政府，国务院各部委、各直属机构：")
    document.add_paragraph(INTRO)
    listed(document, "指导思想", 1, 0)
    document.add_paragraph(GUIDE)
    listed(document, "基本原则", 1, 0)
    listed(document, "坚持深化改革，简政放权。", 1, 1)
    document.add_paragraph(PRINCIPLE_1)
    listed(document, "坚持对标国际，开放引领。", 1, 1)
    listed(document, "发展目标", 1, 0)
    document.add_paragraph(GOAL)
    document.add_paragraph("主要任务", style="Heading 1")
    document.add_paragraph("统筹两个市场，打造加工制造中心。", style="任务标题")
    listed(document, ITEM_1, 1, 2)
    listed(document, ITEM_2, 1, 2)
    document.add_paragraph("推动创新创业，打造研发设计中心。", style="任务标题")
    listed(document, ITEM_6, 1, 2)
    listed(document, "有关要求", 1, 0)
    listed(document, DUTY, 2, 0)  # a bullet: no label
    listed(document, "国务院", 0, None, style="任务标题")  # numId 0 switches the style's list off
    document.add_paragraph("2019年1月12日")
    document.add_paragraph("附件1")
    document.add_paragraph("关于推进广州市家庭医生签约服务高质量发展工作的任务分工表")
    table = document.add_table(rows=len(TABLE), cols=len(TABLE[0]))
    for r, row in enumerate(TABLE):
        for c, value in enumerate(row):
            if not (r == 2 and c < 2):  # merged into the cell above
                table.cell(r, c).text = value
    table.cell(1, 0).merge(table.cell(2, 0))
    table.cell(1, 1).merge(table.cell(2, 1))
    return to_bytes(document)


@pytest.fixture(scope="module")
def policy(tmp_path_factory):
    path = tmp_path_factory.mktemp("docx") / "d01_opinion.docx"
    path.write_bytes(policy_docx())
    return path


def test_merged_cells_are_real_word_merges(policy: Path):
    xml = zipfile.ZipFile(policy).read("word/document.xml").decode()
    assert 'w:vMerge w:val="restart"' in xml and "<w:vMerge/>" in xml


def test_numbering_labels_written_out(policy: Path):
    doc = read_document(policy)
    lines = doc.text.split("\n")
    assert lines[0] == TITLE and doc.title == TITLE
    for label in (
        "一、指导思想",
        "二、基本原则",
        "（一）坚持深化改革，简政放权。",
        "（二）坚持对标国际，开放引领。",
        "三、发展目标",
        "四、主要任务",
        "（一）统筹两个市场，打造加工制造中心。",
        "（二）推动创新创业，打造研发设计中心。",
        "五、有关要求",
        "1." + ITEM_1,
        "2." + ITEM_2,
        "3." + ITEM_6,
    ):
        assert label in lines, label
    assert DUTY in lines and "国务院" in lines  # bullet and numId 0: no label
    assert not any(line.startswith("六、") for line in lines)


def test_table_rows_read_with_merged_cells_and_unit_annotation(policy: Path):
    lines = read_document(policy).text.split("\n")
    rows = [line for line in lines if line.startswith(("1.工作事项", "2.工作事项"))]
    assert len(rows) == 3  # the merged 序号/工作事项 cells repeat on the second row
    first, second, third = rows
    assert "主要内容：现阶段家庭医生" in first and "完成时限：2025年" in first
    assert first.endswith("（牵头单位：各区政府；配合单位：市卫生健康委）")
    assert second.startswith("1.工作事项：有序扩大家庭医生来源。；主要内容：根据服务人口")
    assert second.endswith("（牵头单位：各区政府；配合单位：市卫生健康委、市人社局）")
    assert third.startswith("2.工作事项：不断优化签约服务团队。")


def test_clause_paths_and_responsibilities(policy: Path):
    tree = parse_clauses(read_document(policy))
    paths = {c.path for c in tree.clauses}
    assert ("四、主要任务", "（一）统筹两个市场，打造加工制造中心", "1.拓展两个市场") in paths
    assert ("四、主要任务", "（二）推动创新创业，打造研发设计中心", "3.促进研发创新") in paths
    assert ("二、基本原则", "（二）") in paths  # its one sentence is content, not a title
    in_annex = [c for c in tree.clauses if c.path[0] == "附件1" and c.kind == "1."]
    assert len(in_annex) == 3
    text = tree.doc.text
    rows = [r for r in tree.responsibilities if "主要内容：" in text[r.start : r.end]]
    duties = {text[r.start : r.end].split("主要内容：")[1][:6]: r for r in rows}
    assert duties["根据服务人口"].lead == ("各区政府",)
    assert duties["根据服务人口"].participants == ("市卫生健康委", "市人社局")
    assert duties["现阶段家庭医"].participants == ("市卫生健康委",)


def numbered_lines(
    abstract: list[str],
    paragraphs: list[tuple[str, int, int | None]],
    nums: dict[int, str] | None = None,
) -> list[str]:
    """Lines read back from a document of (text, numId, ilvl) paragraphs over one list."""
    document = new_document(
        numbering_xml({0: abstract}, nums or {1: '<w:abstractNumId w:val="0"/>'})
    )
    for text, num_id, ilvl in paragraphs:
        listed(document, text, num_id, ilvl)
    return [line.text for line in read(to_bytes(document), "x.docx").lines]


def test_lower_levels_restart_unless_lvl_restart_says_otherwise():
    abstract = [
        lvl(0, "chineseCountingThousand", "第%1章", suff="space"),
        lvl(1, "chineseCountingThousand", "第%2条", restart=0),
        lvl(2, "decimalEnclosedCircle", "%3", suff="nothing"),
    ]
    lines = numbered_lines(
        abstract,
        [
            ("总则", 1, 0),
            ("目的", 1, 1),
            ("甲", 1, 2),
            ("乙", 1, 2),
            ("适用", 1, 1),
            ("丙", 1, 2),
            ("附则", 1, 0),
            ("施行", 1, 1),
        ],
    )
    assert lines == [
        "第一章 总则",
        "第一条 目的",
        "①甲",
        "②乙",
        "第二条 适用",
        "①丙",
        "第二章 附则",
        "第三条 施行",
    ]


def test_multilevel_text_legal_numbering_start_and_formats():
    abstract = [
        lvl(0, "upperRoman", "%1.", start=3, suff="nothing"),
        lvl(1, "lowerLetter", "%1.%2", legal=True),
        lvl(2, "ideographTraditional", "%3、", suff="nothing"),
    ]
    lines = numbered_lines(
        abstract,
        [("一", 1, 0), ("二", 1, 1), ("三", 1, 1), ("四", 1, 2), ("五", 1, 0), ("六", 1, 1)],
    )
    assert lines == ["III.一", "3.1 二", "3.2 三", "甲、四", "IV.五", "4.1 六"]


def test_start_override_restarts_a_list_and_shared_definitions_continue():
    nums = {
        1: '<w:abstractNumId w:val="0"/>',
        2: '<w:abstractNumId w:val="0"/>',
        3: (
            '<w:abstractNumId w:val="0"/><w:lvlOverride w:ilvl="0">'
            '<w:startOverride w:val="1"/></w:lvlOverride>'
        ),
    }
    abstract = [lvl(0, "decimal", "（%1）", suff="nothing")]
    lines = numbered_lines(
        abstract, [("甲", 1, 0), ("乙", 2, None), ("丙", 3, 0), ("丁", 3, 0)], nums
    )
    assert lines == ["（1）甲", "（2）乙", "（1）丙", "（2）丁"]


@pytest.mark.parametrize(
    ("fmt", "values", "expected"),
    [
        ("chineseCounting", (1, 10, 12, 30), ("一", "十", "十二", "三十")),
        ("chineseCountingThousand", (11, 100, 1005), ("十一", "一百", "一千零五")),
        ("japaneseCounting", (10, 100, 111), ("十", "百", "百十一")),
        ("decimalEnclosedCircle", (1, 20, 21), ("①", "⑳", "21")),
        ("upperLetter", (1, 26, 27), ("A", "Z", "AA")),
        ("lowerRoman", (4, 9, 40), ("iv", "ix", "xl")),
        ("ideographTraditional", (1, 10), ("甲", "癸")),
        ("none", (3,), ("",)),
    ],
)
def test_number_formats(fmt: str, values: tuple[int, ...], expected: tuple[str, ...]):
    assert tuple(number(v, fmt) for v in values) == expected


def test_stale_core_title_is_ignored():
    document = new_document(numbering_xml({}, {}))
    document.core_properties.title = (
        "关于做好2018年度春节期间安全生产工作的通知"  # a reused template
    )
    document.add_paragraph(TITLE)
    document.add_paragraph(INTRO)
    assert read(to_bytes(document), "x.docx").title == ""


def text_box_run(text: str):
    """A floating text box as Word writes it: a DrawingML shape, and the same box again as VML
    for older readers (mc:Fallback), which must not be read twice."""
    box = f"<w:txbxContent><w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:txbxContent>"
    return parse_xml(
        f'<w:r {NS} xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" '
        'xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape" '
        'xmlns:v="urn:schemas-microsoft-com:vml"><mc:AlternateContent>'
        f'<mc:Choice Requires="wps"><w:drawing><wps:wsp><wps:txbx>{box}</wps:txbx></wps:wsp>'
        f"</w:drawing></mc:Choice><mc:Fallback><w:pict><v:shape><v:textbox>{box}</v:textbox>"
        "</v:shape></w:pict></mc:Fallback></mc:AlternateContent></w:r>"
    )


def test_text_boxes_hidden_text_contents_and_layout_tables():
    document = new_document(numbering_xml({}, {}))
    document.styles.add_style("toc 1", WD_STYLE_TYPE.PARAGRAPH)
    document.add_paragraph("一、指导思想\t1", style="toc 1")  # the table of contents: skipped
    paragraph = document.add_paragraph("可见")
    paragraph.add_run("隐藏").font.hidden = True
    paragraph._p.append(text_box_run("国发〔2019〕3号"))
    frame = document.add_table(rows=1, cols=1)  # a one-cell frame around body paragraphs
    frame.cell(0, 0).text = GUIDE
    frame.cell(0, 0).add_paragraph(GOAL)
    lines = [line.text for line in read(to_bytes(document), "x.docx").lines]
    assert lines == ["可见", "国发〔2019〕3号", GUIDE, GOAL]


# --- damaged files and zip bombs --------------------------------------------------------------


def zip_bytes(entries: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return out.getvalue()


def test_too_many_entries_refused():
    raw = zip_bytes({f"word/media/image{i}.png": b"x" for i in range(MAX_ENTRIES + 1)})
    with pytest.raises(UnreadableFile, match=r"bomb\.docx: refused, .* holds 2001 files"):
        read(raw, "bomb.docx")


def test_high_compression_ratio_refused():
    raw = zip_bytes({"[Content_Types].xml": b"<Types/>", "word/document.xml": b" " * 3_000_000})
    with pytest.raises(UnreadableFile, match=r"word/document\.xml is compressed \d+:1"):
        read(raw, "bomb.docx")


def set_declared_size(raw: bytearray, name: str, size: int) -> None:
    """Rewrite an entry's uncompressed size in its local header and its directory record."""
    for signature, size_at, name_len_at, name_at in (
        (b"PK\x03\x04", 22, 26, 30),
        (b"PK\x01\x02", 24, 28, 46),
    ):
        at = raw.find(signature)
        while at != -1:
            (length,) = struct.unpack("<H", raw[at + name_len_at : at + name_len_at + 2])
            if raw[at + name_at : at + name_at + length] == name.encode():
                raw[at + size_at : at + size_at + 4] = struct.pack("<I", size)
            at = raw.find(signature, at + 4)


def test_declared_total_size_refused():
    """The zip directory says 2 × 150 MB: refused before anything is inflated."""
    raw = bytearray(zip_bytes({"word/a.xml": b"<a/>", "word/b.xml": b"<b/>"}))
    for name in ("word/a.xml", "word/b.xml"):
        set_declared_size(raw, name, 150 * 2**20)
    with pytest.raises(UnreadableFile, match=r"unpacks to 300 MB \(at most 200 MB\)"):
        read(bytes(raw), "bomb.docx")


def test_understated_sizes_cannot_smuggle_a_bomb_past_the_limits():
    """A real .docx whose document.xml grows by 5 MB of spaces while the zip directory still
    declares 1 KB: zipfile stops at the declared size and the CRC check fails, so the limits
    above hold even when the directory lies."""
    with zipfile.ZipFile(io.BytesIO(policy_docx())) as original:
        parts = {name: original.read(name) for name in original.namelist()}
    parts["word/document.xml"] += b" " * 5_000_000  # whitespace after the root: still valid
    raw = bytearray(zip_bytes(parts))
    set_declared_size(raw, "word/document.xml", 1024)
    with pytest.raises(UnreadableFile, match=r"^lie\.docx: not a readable .*Bad CRC-32"):
        read(bytes(raw), "lie.docx")


@pytest.mark.parametrize(
    "damage",
    [
        lambda raw: raw[: len(raw) // 2],  # cut off: no zip directory
        lambda raw: b"PK\x03\x04" + b"\x00" * 200,
        lambda raw: zip_bytes({"word/document.xml": b"<w:document"}),  # no package parts
        lambda raw: raw.replace(b"word/document.xml", b"word/documenx.xml"),
    ],
)
def test_damaged_docx_refused_with_named_error(tmp_path: Path, damage):
    path = tmp_path / "损坏.docx"
    path.write_bytes(damage(policy_docx()))
    with pytest.raises(UnreadableFile, match=r"^损坏\.docx: .*(Word|WPS)"):
        read_document(path)


def test_docx_sniffed_by_content_and_extraction_time(tmp_path: Path):
    """A .docx saved with a wrong extension is still read as Word; prints the time taken."""
    raw = policy_docx()
    assert sniff(raw, "d01.txt") == "docx"
    big = new_document(
        numbering_xml({0: [lvl(0, "decimal", "%1.")]}, {1: '<w:abstractNumId w:val="0"/>'})
    )
    for i in range(2000):
        listed(big, ITEM_2 if i % 2 else ITEM_6, 1, 0)
    table = big.add_table(rows=201, cols=len(TABLE[0]))
    for r, row in enumerate(table.rows):  # row.cells once per row: table.cell() is quadratic
        for cell, value in zip(row.cells, TABLE[min(r, 1)], strict=True):
            cell.text = value
    big_raw = to_bytes(big)
    started = time.perf_counter()
    extracted = read(big_raw, "big.docx")
    seconds = time.perf_counter() - started
    assert extracted.lines[1999].text.startswith("2000.") and len(extracted.lines) == 2200
    print(
        f"\n{len(big_raw) // 1024} KB .docx, 2,000 list paragraphs + 200 table rows: "
        f"{seconds * 1000:.0f} ms"
    )


# --- formats to convert first -------------------------------------------------------------------

OLE2 = (
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 16 + b"\x3e\x00\x03\x00\xfe\xff" + b"\x00" * 482
)


def ofd_bytes() -> bytes:
    """The skeleton of an OFD package (GB/T 33190): OFD.xml at the root, one document."""
    return zip_bytes(
        {
            "OFD.xml": b'<ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016" Version="1.0">'
            b"<ofd:DocBody><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody>"
            b"</ofd:OFD>",
            "Doc_0/Document.xml": b'<ofd:Document xmlns:ofd="http://www.ofdspec.org/2016"/>',
        }
    )


@pytest.mark.parametrize(
    ("name", "raw", "hint"),
    [
        ("关于印发实施方案的通知.doc", OLE2, r"an old binary Word \.doc file: .*save as \.docx"),
        ("任务分工表.wps", OLE2, r"a WPS file: open it in WPS and save as \.docx"),
        ("改名的旧文件.docx", OLE2, r"an old binary Word \.doc file"),  # .doc renamed .docx
        ("批复.ofd", ofd_bytes(), r"an OFD file: export it to PDF"),
    ],
)
def test_formats_to_convert_name_the_file_and_say_how(
    tmp_path: Path, name: str, raw: bytes, hint: str
):
    path = tmp_path / name
    path.write_bytes(raw)
    with pytest.raises(UnreadableFile, match=rf"^{name.replace('.', '[.]')}: {hint}"):
        read_document(path)
