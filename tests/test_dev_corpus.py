"""Every dev document (eval/dev/corpus, see eval/dev/SOURCES.md) read end to end: title, 文号, date,
the first headings and the responsibility annotations, as a reader of the document sees them.

The expectations were written from the documents themselves (the page's title block or
metadata table, the 文号 line under the title, the signature date or the metadata's 成文日期,
the first numbered clauses ``rag.clauses`` finds in the body, the annotations as written). Then
one test per kind of document (意见, 通知, 方案, 清单/表格, 条例, 办法, 预案, 答复, 香港法例,
PDF) spot-checks the levels above the numbering and what its annotations name. A row the parser
cannot get yet is kept with the right answer and marked ``parser(reason)`` (a strict xfail), so
fixing the parser flips it.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import pytest

from rag.clauses import parse_clauses

DEV = Path(__file__).resolve().parent.parent / "eval" / "dev" / "corpus"
SPACE = re.compile(r"[\s\u3000\xa0]+")


def squash(text: str) -> str:
    return SPACE.sub("", text)


def parser(reason: str) -> dict:
    return {"marks": pytest.mark.xfail(reason=f"clause parser: {reason}", strict=True)}


# (file prefix, title, 文号 or "", date as written or "", first three heading lines' beginnings)
TEXT_AND_HTML = [
    # gov.cn fragments: metadata table → title, 发文字号, 成文日期
    ("d01", "国务院关于促进综合保税区高水平开放高质量发展的若干意见", "国发〔2019〕3号",
     "2019年01月12日", ["一、指导思想", "二、基本原则", "（一）坚持深化改革，简政放权。"]),
    ("d02", "国务院办公厅关于对真抓实干成效明显地方进一步加大激励支持力度的通知",
     "国办发〔2018〕117号", "2018年12月06日",
     ["一、对深化商事制度改革成效显著", "二、对促进外贸、外资稳定增长", "三、对促进社会投资健康发展"]),
    ("d03", "国务院办公厅关于加快发展体育竞赛表演产业的指导意见", "国办发〔2018〕121号",
     "2018年12月11日", ["一、总体要求", "（一）指导思想。", "（二）基本原则。"]),
    ("d04", "国务院办公厅关于深入开展消费扶贫助力打赢脱贫攻坚战的指导意见", "国办发〔2018〕129号",
     "2018年12月30日",
     ["一、总体要求", "二、动员社会各界扩大贫困地区产品和服务消费", "（一）推动各级机关和国有企事业单位"]),
    ("d05", "国务院关于做好当前和今后一个时期促进就业工作的若干意见", "国发〔2018〕39号",
     "2018年11月16日", ["一、支持企业稳定发展", "（一）加大稳岗支持力度。", "（二）发挥政府性融资担保机构作用"]),
    ("d06", "国务院关于加快推进农业机械化和农机装备产业转型升级的指导意见", "国发〔2018〕42号",
     "2018年12月21日", ["一、总体要求", "（一）指导思想。", "（二）发展目标。"]),
    ("d07", "国务院关于印发国家职业教育改革实施方案的通知", "国发〔2019〕4号", "2019年01月24日",
     ["一、完善国家职业教育制度体系", "（一）健全国家职业教育制度框架。", "（二）提高中等职业教育发展水平。"]),
    ("d08", "国务院办公厅关于印发“无废城市”建设试点工作方案的通知", "国办发〔2018〕128号",
     "2018年12月29日", ["一、总体要求", "（一）重大意义。", "（二）指导思想。"]),
    ("d09", "国务院办公厅关于推广第二批支持创新相关改革举措的通知", "国办发〔2018〕126号",
     "2018年12月23日",
     ["一、推广的改革举措（共23项）", "（一）知识产权保护方面5项：", "（二）科技成果转化激励方面4项："]),
    ("d10", "国务院办公厅关于加强三级公立医院绩效考核工作的意见", "国办发〔2019〕4号",
     "2019年01月16日", ["一、总体要求", "（一）指导思想。", "（二）基本原则。"]),
    ("d11", "中华人民共和国个人所得税法实施条例", "国令第707号", "2018年12月18日",
     ["第一条　根据《中华人民共和国个人所得税法》", "第二条　个人所得税法所称在中国境内有住所",
      "第三条　除国务院财政、税务主管部门另有规定外"]),
    ("d12", "专利代理条例", "国令第706号", "2018年11月06日",
     ["第一章　总　　则", "第一条　为了规范专利代理行为", "第二条　本条例所称专利代理"]),
    ("d13", "国务院关于印发个人所得税专项附加扣除暂行办法的通知", "国发〔2018〕41号",
     "2018年12月13日", ["第一章　总　　则", "第一条　根据《中华人民共和国个人所得税法》",
                        "第二条　本办法所称个人所得税专项附加扣除"]),
    ("d14", "国务院办公厅关于印发国家粮食应急预案的函", "国办函〔2005〕57号", "2005年06月11日",
     ["1　总则", "1.1　编制目的及依据", "1.2　等级划分"]),
    ("d15", "国务院办公厅关于湖北省巴东县地质灾害险情有关问题的复函", "国办函〔2004〕80号",
     "2004年11月04日", ["附件1", "一、基本情况", "二、地质险情成因分析"]),
    ("d16", "国务院关于河北雄安新区总体规划（2018—2035年）的批复", "国函〔2018〕159号",
     "2018年12月25日",
     ["一、原则同意《河北雄安新区总体规划", "二、紧扣雄安新区战略定位。", "三、有序承接北京非首都功能疏解。"]),
    ("d17", "国务院办公厅关于对国务院第五次大督查发现的典型经验做法给予表扬的通报",
     "国办发〔2018〕108号", "2018年11月19日",
     ["附件", "1.北京市大力推进外国人来华工作许可制度改革。", "2.北京市西城区"]),
    ("d18", "国务院关于印发《国务院工作规则》的通知", "国发〔2004〕18号", "2004年06月26日",
     ["第一章　总 则", "一、第十届全国人民代表大会第一次会议", "二、国务院工作以邓小平理论"]),
    ("d19", "国务院办公厅关于印发《政府网站集约化试点工作方案》的通知", "国办函〔2018〕71号",
     "2018年10月27日", ["一、总体要求", "（一）指导思想。", "（二）基本原则。"]),
    ("d20", "国务院办公厅对十届全国人大四次会议第7240号建议的答复", "国办函〔2006〕71号",
     "2006年09月07日", []),  # an un-numbered reply
    # NDRC page: <span> runs and <br />, no metadata; 文号 line and signature date from the text
    ("d21", "国家发展改革委 国家能源局关于加强和规范电网规划投资管理工作的通知",
     "发改能源规〔2020〕816号", "2020年5月28日",
     ["一、切实加强电网规划统筹协调与实施", "（一）深化电网规划编制内容要求", "（二）深化电网规划编制的技术经济论证要求"]),
    # text and Markdown (rag/readers/text.py)
    ("d22", "关于开展医保经办全流程智能审核试点工作的通知", "医保办函〔2025〕86号", "2025年10月24日",
     ["一、工作目标", "二、工作内容", "（一）结合实际启动试点工作。"]),
    ("d23", "市场监督管理投诉举报处理暂行办法", "国家市场监督管理总局令第20号", "2019年11月30日",
     ["第一条 为规范市场监督管理投诉举报处理工作", "第二条 市场监督管理部门处理投诉举报", "第三条 本办法所称的投诉"]),
    ("d24", "浙江省数字经济促进条例", "", "2020年12月24日",
     ["第一章　总则", "第一条 为了促进数字经济发展", "第二条 本省行政区域内促进数字经济发展"]),
    # Guangzhou-area saved pages: title block, 规范性文件 block or 政府信息公开 table
    ("d25", "广东省高校毕业生就业创业扶持政策清单", "", "",
     ["一、小微企业社保补贴", "二、一次性扩岗补助", "三、就业见习补贴"]),
    ("d26", "广州市卫生健康委等4部门关于印发推进广州市家庭医生签约服务高质量发展实施方案的通知",
     "穗卫函〔2023〕1930号", "2023-10-19", ["一、主要目标", "二、主要任务", "（一）扩大签约服务供给"]),
    ("d27", "广州市人民政府办公厅关于印发广州市居家社区养老服务管理办法的通知", "穗府办规〔2022〕13号",
     "2022年9月6日", ["第一章 总 则", "第一条　为了规范本市居家社区养老服务工作", "第二条　在本市行政区域范围内"]),
    ("d28", "广州市人民政府办公厅关于印发广州市公共租赁住房管理办法的通知", "穗府办规〔2024〕13号",
     "2024-07-26", ["第一章 总则", "第一条为完善本市住房保障体系", "第二条本办法所称的公共租赁住房保障"]),
    ("d29", "广州市人民政府办公厅关于印发广州市临时救助实施细则的通知", "穗府办规〔2021〕19号",
     "2021年12月1日", ["第一条 为完善广州市社会救助体系", "第二条 本实施细则所称临时救助", "第三条 市民政部门负责"]),
    ("d30", "广州市人民政府办公厅关于进一步加强特困人员救助供养工作的通知", "穗府办规〔2021〕7号",
     "2021年4月13日", ["一、认定范围", "二、认定程序", "三、供养标准"]),
    ("d31", "广州市人力资源和社会保障局广州市财政局关于印发广州市就业见习基地管理办法的通知",
     "穗人社规字〔2019〕6号", "2019年10月9日",
     ["第一章 总则", "第一条 为加强本市就业见习基地管理", "第二条 本办法所指就业见习基地"]),
    ("d32", "广州市民政局 广州市财政局关于印发我市2025年最低生活保障及相关社会救助标准的通知",
     "穗民规字〔2025〕2号", "2025年5月30日",
     ["一、社会救助标准", "（一）全市城乡最低生活保障标准为每人每月1309元。", "（二）最低生活保障边缘家庭认定标准"]),
    ("d33", "广州市人民政府办公厅关于重新发布广州市积分制入户管理办法的通知", "穗府办规〔2025〕8号",
     "2025年6月30日", ["第一条 为加强来穗人员服务管理", "第二条 本办法所称积分制入户", "第三条 积分制入户主要面向"]),
    ("d34", "广州市医疗保障局 广州市财政局 广州市民政局 广州市卫生健康委员会关于印发广州市长期护理保险试行办法的通知",
     "穗医保规字〔2024〕1号", "2024年1月3日",
     ["第一章 总则", "第一条 为健全本市社会保障制度体系", "第二条 本办法适用于本市行政区域内"]),
    ("d35", "广州市人民政府办公厅关于印发广州市引进人才入户管理办法的通知", "穗府办规〔2020〕10号",
     "2020年6月29日", ["第一条 为进一步优化人口结构", "第二条 本办法所称的引进人才入户", "第三条 引进人才入户坚持"]),
    ("d36", "广州市人力资源和社会保障局 广州市公安局关于印发广州市引进人才入户管理办法实施细则的通知",
     "穗人社规字〔2022〕2号", "2022年7月7日",
     ["第一章 总则", "第一条 为做好我市用人单位引进人才入户相关工作", "第二条 本细则适用于"]),
    ("d37", "广州市民政局 广州市财政局 广州市市场监督管理局关于印发广州市老年人助餐配餐服务管理办法的通知",
     "穗民规字〔2024〕3号", "2024-03-14",
     ["第一章 总则", "第一条 为进一步规范本市居家社区养老服务", "第二条 在本市行政区域内"]),
    ("d38", "广州市困难残疾人生活补贴和重度残疾人护理补贴实施办法", "", "",
     ["一、补贴对象", "（一）困难残疾人生活补贴对象", "1.本市低保家庭、低收家庭"]),
    ("d39", "广州市天河区深化支持港澳青年创新创业高质量发展实施办法", "穗天科工信规字〔2023〕1号",
     "2023年8月9日", ["第一条 为全面落实《粤港澳大湾区发展规划纲要》", "第二条 本办法所称港澳青年",
                      "第三条 载体建设。"]),
    ("d40", "广州市天河区教育局关于印发《2026年广州市天河区幼儿园招生工作方案》的通知", "",
     "2026年4月20日", ["一、招生原则", "（一）适龄优先。", "（二）免试入园。"]),
    ("d44", "国务院关于同意建立国务院职业教育工作部际联席会议制度的批复", "国函〔2018〕144号",
     "2018年11月20日", ["附件", "一、主要职能", "二、成员单位"]),
    ("d45", "广州市医疗保障局 广州市财政局 广州市卫生健康委员会关于印发广州市社会医疗保险统筹基金支付门诊特定病种费用范围及标准的通知",
     "穗医保规字〔2019〕4号", "2019年6月14日",
     ["一、纳入社会医疗保险统筹基金支付费用范围的门诊特定病种", "二、参保人员享受门诊特定病种待遇",
      "（一）除急诊留院观察外"]),
    ("d46", "宁波市法治乡村建设促进条例", "", "2020年12月29日",
     ["第一条 为了促进法治乡村建设", "第二条 本条例适用于本市行政区域内", "第三条 法治乡村建设应当坚持"]),
]  # fmt: skip

# d41–d43 (traditional-Chinese PDFs, rag/readers/pdf.py): their rows go here, same shape
PDFS = [  # traditional-script Hong Kong PDFs: the gazette notice number is their 文号
    # the text layer has no "1." before paragraph 1 (pdfium reads "A. 概論\r\n本《運作…"): none is made up
    (
        "d41",
        "關於進行截取及秘密監察的授權申請的運作原則及指引",
        "2020年第74號號外公告",
        "",
        ["A. 概論", "2. 除文意另有所指外", "B. 發出訂明授權"],
    ),
    (
        "d42",
        "中華人民共和國香港特別行政區維護國家安全法第四十三條實施細則",
        "2020年第139號法律公告",
        "2020年7月6日",
        ["(1) 在2020年6月30日第十三屆全國人民代表大會常務委"],
    ),
    (
        "d43",
        "中華人民共和國憲法 中華人民共和國香港特別行政區基本法",
        "",
        "1990年4月4日",  # 基本法通過
        ["第一章 總綱", "第一條 中華人民共和國是工人階級領導的"],
    ),
]

DOCUMENTS = TEXT_AND_HTML + PDFS


def _line_from(text: str, start: int) -> str:
    """The text from a clause's start to its line end (a clause may start mid-line)."""
    end = text.find("\n", start)
    return text[start : end if end >= 0 else len(text)]


def _prefix(row) -> str:
    return row.values[0] if hasattr(row, "values") else row[0]


@pytest.fixture(scope="module")
def tree_of(dev_read):
    """``tree_of("d01")``: that dev document's clause tree, parsed once per module from the
    session's read (tests/conftest.py ``dev_read``)."""
    return functools.cache(lambda prefix: parse_clauses(dev_read(prefix).doc))


def test_the_table_covers_every_html_and_text_dev_document():
    files = {p.name[:3]: p.suffix for p in DEV.glob("d*")}
    assert len(files) == 46
    assert sorted(map(_prefix, TEXT_AND_HTML)) == sorted(n for n, s in files.items() if s != ".pdf")
    assert sorted(map(_prefix, PDFS)) == sorted(n for n, s in files.items() if s == ".pdf")


@pytest.mark.parametrize(
    ("prefix", "title", "number", "date", "headings"), DOCUMENTS, ids=map(_prefix, DOCUMENTS)
)
def test_dev_document(prefix, title, number, date, headings, tree_of):
    tree = tree_of(prefix)
    doc = tree.doc
    lines = doc.text.split("\n")
    assert doc.title == title
    assert lines[0] == title  # the title is line 1, the clause parser's convention
    assert doc.number == number
    assert doc.date == date
    found = [_line_from(doc.text, c.start) for c in tree.clauses if c.label][: len(headings)]
    assert len(found) == len(headings)
    for line, want in zip(found, headings, strict=True):
        assert squash(line).startswith(squash(want)), (line[:40], want)


@pytest.mark.parametrize("prefix", ["d23", "d24", "d46"])
def test_markdown_markers_and_comments_do_not_reach_the_text(prefix, dev_read):
    text = dev_read(prefix).doc.text
    assert "<!--" not in text and "INFO END" not in text
    assert not any(line.startswith("#") for line in text.split("\n"))


def test_html_extraction_is_fast_enough(dev_read):
    """Every dev HTML page in well under a second (the largest is 0.5 MB): ``read_document``'s
    own time, taken when the session first read it."""
    for path in sorted(DEV.glob("*.html")):
        assert dev_read(path.name[:3]).seconds < 2.0, path.name


# --- annotations and the levels above the numbering, one test per kind of document ------------

# how many responsibility annotations each document has (the rest have none: their duties are prose)
ANNOTATED = {
    "d01": 21,
    "d02": 30,
    "d03": 21,
    "d04": 17,
    "d05": 15,
    "d06": 18,
    "d08": 39,
    "d09": 17,
    "d26": 39,
}


def _notes(tree_of, prefix: str) -> list[tuple[str, tuple, tuple, tuple, str]]:
    """(annotation as written, lead, participants, other, path of its clause), in text order."""
    tree = tree_of(prefix)
    out = []
    for r in tree.responsibilities:
        clause = tree.clause_at(r.note_start)
        path = clause.path_text if clause else ""
        out.append(
            (tree.doc.text[r.note_start : r.note_end], r.lead, r.participants, r.other, path)
        )
    return out


@pytest.mark.parametrize("row", DOCUMENTS, ids=map(_prefix, DOCUMENTS))
def test_every_dev_document_has_the_annotations_it_writes(row, tree_of):
    prefix = _prefix(row)
    assert len(tree_of(prefix).responsibilities) == ANNOTATED.get(prefix, 0)


def test_opinions_first_listed_unit_leads_from_the_sentence_that_says_so(tree_of):  # 意见
    note, lead, part, _, path = _notes(tree_of, "d01")[0]
    assert note.startswith("（税务总局、财政部、海关总署负责，排在第一位的部门为牵头部门")
    assert (lead, part) == (("税务总局",), ("财政部", "海关总署"))
    assert path == "四、主要任务 › （一）统筹两个市场，打造加工制造中心 › 1.拓展两个市场"
    _, lead, part, _, _ = _notes(tree_of, "d05")[3]  # “…，各省级人民政府按职责分工负责”
    assert lead == ("人力资源社会保障部",) and part[-1] == "各省级人民政府"
    _, lead, part, _, _ = _notes(tree_of, "d04")[0]  # no such sentence: every listed unit leads
    assert lead[:2] == ("扶贫办", "中央统战部") and lead[-1] == "各省级人民政府" and part == ()


def test_notices_single_unit_duty_on_every_measure(tree_of):  # 通知
    notes = _notes(tree_of, "d02")
    assert notes[0][:3] == ("（市场监管总局负责）", ("市场监管总局",), ())
    assert notes[0][4] == "一、" and notes[-1][4] == "三十、"
    assert all(lead for _, lead, _, _, _ in notes)
    together = next(n for n in notes if n[0] == "（国家发展改革委会同有关部门负责）")
    assert together[1:3] == (("国家发展改革委",), ("有关部门",))  # X会同Y负责: X leads


def test_plans_issued_by_a_notice_sit_under_their_own_name(tree_of):  # 方案
    for prefix, name in (
        ("d07", "国家职业教育改革实施方案"),
        ("d19", "政府网站集约化试点工作方案"),
        ("d40", "2026年广州市天河区幼儿园招生工作方案"),
    ):
        tops = [c for c in tree_of(prefix).clauses if c.parent is None]
        assert [c.path_text for c in tops] == [name]
    notes = _notes(tree_of, "d08")
    assert notes[0][4].startswith("“无废城市”建设试点工作方案 › 二、主要任务 › （一）")
    assert notes[0][1:3] == (
        ("生态环境部",),
        ("国家发展改革委", "工业和信息化部", "住房城乡建设部", "农业农村部", "国家统计局"),
    )
    _, lead, _, other, _ = notes[1]  # “以下均需试点城市政府落实，不再列出”
    assert lead == ("试点城市政府",) and other == (("指导部门", "生态环境部"),)
    assert all(("负责落实", "试点城市政府") in other for _, _, _, other, _ in notes[2:])
    guided = next(n for n in notes if n[0] == "（商务部指导，供销合作总社参与）")
    assert guided[2] == ("供销合作总社",) and ("指导部门", "商务部") in guided[3]


def test_lists_and_tables_keep_their_key_value_columns(tree_of):  # 清单 / 表格
    note, lead, part, other, path = _notes(tree_of, "d09")[0]  # the table column 指导部门
    assert note.startswith("指导部门：最高人民法院") and (lead, part) == ((), ())
    assert other[0] == ("指导部门", "最高人民法院") and path.startswith(
        "附件 › 一、知识产权保护方面"
    )
    note, lead, part, other, path = _notes(tree_of, "d26")[
        0
    ]  # 任务分工表: 牵头单位 / 配合单位 / 处室
    assert (lead, part) == (("各区政府",), ("市卫生健康委",)) and path.startswith("附件2 › ")
    assert other == (("市卫健委内牵头处室", "基层处"), ("市卫健委内配合处室", "医政处"))
    tops = [c.path_text for c in tree_of("d25").clauses if c.parent is None]  # a 政策清单
    assert tops == ["面向单位的扶持政策", "面向毕业生的扶持政策"]


def test_regulations_articles_under_chapters_or_alone(tree_of):  # 条例
    for prefix, first in (
        ("d11", "第一条"),
        ("d12", "第一章"),
        ("d24", "第一章"),
        ("d46", "第一条"),
    ):
        tops = [c for c in tree_of(prefix).clauses if c.parent is None]
        assert tops[0].path[0].startswith(first) and {c.kind for c in tops} == {first[-1]}


def test_measures_issued_by_a_notice_sit_under_their_own_name(tree_of):  # 办法 / 细则
    for prefix, name, first in (
        ("d13", "个人所得税专项附加扣除暂行办法", "第一章"),
        ("d28", "广州市公共租赁住房管理办法", "第一章"),
        ("d29", "广州市临时救助实施细则", "第一条"),
        ("d34", "广州市长期护理保险试行办法", "第一章"),
    ):
        tops = [c for c in tree_of(prefix).clauses if c.parent is None]
        assert [c.path_text for c in tops] == [name]
        assert next(c for c in tree_of(prefix).clauses if c.label).path[1].startswith(first)
    assert [c.path[0] for c in tree_of("d23").clauses][:1] == ["第一条"]  # no notice: no name


def test_a_grain_emergency_plan_skips_its_table_of_contents(tree_of):  # 预案
    paths = [c.path_text for c in tree_of("d14").clauses]
    assert paths[:3] == [
        "国家粮食应急预案",
        "国家粮食应急预案 › 1 总则",
        "国家粮食应急预案 › 1 总则 › 1.1 编制目的及依据",
    ]
    assert sum(p.endswith("› 1 总则") for p in paths) == 1


def test_an_unnumbered_reply_has_no_headings(tree_of):  # 答复
    assert tree_of("d20").clauses == ()


def test_hong_kong_schedules_and_a_booklet_of_laws(tree_of):  # 香港法例 (PDF)
    schedules = [c for c in tree_of("d42").clauses if c.kind == "附件"]
    assert [c.label for c in schedules] == [f"附表{n}" for n in range(1, 8)]
    assert schedules[0].title == "關於為搜證而搜查有關地方的細則"  # not its “[第2條]” reference
    tops = [c.path_text for c in tree_of("d43").clauses if c.parent is None and not c.label]
    assert tops[:2] == ["中華人民共和國憲法", "中華人民共和國香港特別行政區基本法"]
    paths = [c.path_text for c in tree_of("d43").clauses]
    assert "中華人民共和國香港特別行政區基本法 › 第一章 總則 › 第七條" in paths


def test_a_pdf_guideline_has_lettered_sections_over_numbered_paragraphs(tree_of):  # 指引 (PDF)
    paths = [c.path_text for c in tree_of("d41").clauses]
    assert "C. 訂明授權 › C1. 有關當局" in paths
    assert any(p.startswith("D. 申請程序 › D4. 緊急授權 › 16.") for p in paths)
    assert all(p[:1] in "ABCDEFG" for p in paths)  # every paragraph sits in a lettered section


# No dev document is a scanned PDF (eval/dev/SOURCES.md): OCR is covered by tests/test_readers_pdf.py.
