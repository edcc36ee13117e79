"""The HTML reader: each rule on a small page of its own, then a few real dev pages."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rag.clauses import parse_clauses
from rag.errors import UnreadableFile
from rag.normalize import document_from
from rag.readers import read, sniff
from rag.readers.html import decode
from rag.readers.html import read as read_html
from rag.types import Document

ARTICLE = "第一条　为了规范政府信息公开工作，保障公民、法人和其他组织依法获取政府信息，制定本条例。"


def lines(html: str | bytes, name: str = "page.html") -> list[str]:
    raw = html.encode("utf-8") if isinstance(html, str) else html
    return [line.text for line in read_html(raw, name).lines]


@pytest.fixture
def dev(dev_read):
    """``dev("d01")``: a dev page as read once per session (conftest ``dev_read``)."""
    return lambda prefix: dev_read(prefix).doc


# --- charset ---------------------------------------------------------------------------------


def test_gbk_page_with_meta_charset():
    page = f'<html><head><meta charset="gbk"></head><body><p>{ARTICLE}</p></body></html>'
    assert lines(page.encode("gbk")) == [ARTICLE]


def test_gb2312_page_with_http_equiv_declaration_read_as_gb18030():
    page = (
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312">'
        f"</head><body><p>{ARTICLE}</p><p>𠀀字</p></body></html>"  # 𠀀: only GB18030 has it
    )
    assert lines(page.encode("gb18030")) == [ARTICLE, "𠀀字"]


def test_utf8_without_declaration_wins_over_a_wrong_declaration():
    page = f'<meta charset="gbk"><p>{ARTICLE}</p>'  # saved as UTF-8, declaration kept
    assert lines(page.encode("utf-8")) == [ARTICLE]
    assert lines(f"<div><p>{ARTICLE}</p></div>".encode()) == [ARTICLE]


def test_bom_decides_the_encoding():
    assert lines(b"\xef\xbb\xbf" + f"<p>{ARTICLE}</p>".encode()) == [ARTICLE]
    assert lines(b"\xff\xfe" + f"<p>{ARTICLE}</p>".encode("utf-16-le")) == [ARTICLE]


def test_undeclared_gbk_is_detected():
    body = "".join(f"<p>{ARTICLE}</p>" for _ in range(3))
    assert lines(f"<html><body>{body}</body></html>".encode("gbk")) == [ARTICLE] * 3


def test_empty_and_binary_files_are_refused():
    with pytest.raises(UnreadableFile, match="empty"):
        read_html(b"  \n", "a.html")
    with pytest.raises(UnreadableFile, match="binary"):
        decode(b"<p>\x00\x01\x02</p>", "a.html")


def test_a_page_without_text_is_refused_by_normalisation():
    with pytest.raises(UnreadableFile, match="no text"):
        document_from(read_html(b"<html><body><img src=x></body></html>", "a.html"), "a", "a")


def test_html_extensions_and_fragments_are_sniffed_as_html():
    for name in ("a.html", "a.htm", "a.shtml"):
        assert sniff("正文".encode(), name) == "html"
    assert sniff(b'<div class="wrap">', "saved.txt") == "html"
    assert read(f"<p>{ARTICLE}</p>".encode(), "a.shtml").format == "html"


# --- structure -------------------------------------------------------------------------------


def test_blocks_and_br_break_lines_inline_elements_do_not():
    page = (
        "<div><p>一、<strong>总则</strong></p>"
        "<p><span>本办法</span><span>适用于</span><a href=#>全市</a>。</p>"
        "<span>（一）第一项</span><br/><span>（二）第二项</span></div>"
    )
    assert lines(page) == ["一、总则", "本办法适用于全市。", "（一）第一项", "（二）第二项"]


def test_source_line_wraps_join_without_spaces_between_chinese():
    assert lines("<p>国务院关于\n    促进发展的 plan\n  text</p>") == [
        "国务院关于促进发展的 plan text"
    ]


def test_navigation_search_footer_and_scripts_dropped():
    page = f"""<html><head><style>p {{color: red}}</style></head><body>
      <div class="nav"><a href=/>首页</a><a href=/zw>政务公开</a><a href=/fw>办事服务</a></div>
      <form><input name=q>搜索本站</form>
      <div class="content"><p>{ARTICLE}</p><p>第二条　本条例自公布之日起施行。</p></div>
      <script>var x = "脚本里的中文字不算正文";</script>
      <div class="footer">主办单位：某某市人民政府办公室　网站标识码：1234</div>
    </body></html>"""
    assert lines(page) == [ARTICLE, "第二条　本条例自公布之日起施行。"]


def test_hidden_copy_of_the_body_is_dropped():
    body = f"<p>{ARTICLE}</p><p>第二条　本条例自公布之日起施行。</p>"
    page = f'<div class="article">{body}</div><div style="display:none;">{body}</div>'
    assert lines(page) == [ARTICLE, "第二条　本条例自公布之日起施行。"]


def test_visible_flattened_copy_of_the_body_is_dropped():
    paragraphs = [f"第{n}条　{ARTICLE[4:]}" for n in "一二三四五"]
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    page = f'<div class="article">{body}<div>{"".join(paragraphs)}</div></div>'
    assert lines(page) == paragraphs


def test_body_hidden_until_scripts_run_is_still_read():
    page = f"<html><body style='visibility: hidden'><div><p>{ARTICLE}</p></div></body></html>"
    assert lines(page) == [ARTICLE]


def test_known_content_container_wins_over_a_longer_sidebar():
    sidebar = "".join(f"<p>相关文件{n}：关于进一步做好政务公开工作的通知</p>" for n in range(20))
    page = f'<div class="list">{sidebar}</div><div id="zoomcon"><p>{ARTICLE}</p></div>'
    assert lines(page) == [ARTICLE]


# --- metadata and title ----------------------------------------------------------------------

GOV_META = """<table><tbody>
  <tr><td><b>索 引 号：</b></td><td>000014349/2019-00003</td>
      <td><b>主题分类：</b></td><td>商贸、海关、旅游\\海关</td></tr>
  <tr><td><b>发文机关：</b></td><td>国务院</td><td><b>成文日期：</b></td><td>2019年01月12日</td></tr>
  <tr><td><b>标　　题：</b></td><td colspan="3">国务院关于促进综合保税区发展的若干意见</td></tr>
  <tr><td><b>发文字号：</b></td><td>国发〔2019〕3号</td>
      <td><b>发布日期：</b></td><td>2019年01月25日</td></tr>
  <tr><td><b>主 题 词：</b></td><td></td></tr>
</tbody></table>"""


def test_gov_cn_metadata_table_with_spaced_labels():
    page = f"""<div class="wrap">{GOV_META}<table><tr><td id="UCAP-CONTENT">
      <p>国务院关于促进综合保税区</p><p>发展的若干意见</p><p>国发〔2019〕3号</p>
      <p>{ARTICLE}</p></td></tr></table><div>扫一扫在手机打开当前页</div></div>"""
    extracted = read_html(page.encode(), "d.html")
    assert extracted.meta == {
        "索引号": "000014349/2019-00003",
        "主题分类": "商贸、海关、旅游\\海关",
        "发文机关": "国务院",
        "成文日期": "2019年01月12日",
        "发文字号": "国发〔2019〕3号",
        "发布日期": "2019年01月25日",
    }
    assert extracted.title == "国务院关于促进综合保税区发展的若干意见"
    text = [line.text for line in extracted.lines]
    assert text == [extracted.title, "国发〔2019〕3号", ARTICLE]  # split title joined
    doc = document_from(extracted, "d", "d.html")
    assert (doc.issuer, doc.date, doc.number) == ("国务院", "2019年01月12日", "国发〔2019〕3号")


def test_document_prefers_the_issuing_organ_and_the_signing_date():
    meta = {
        "发布机构": "某街道办事处",
        "来源": "某网",
        "发文机关": "某市人民政府办公厅",
        "发布日期": "2024-09-12",
        "成文日期": "2024-07-26",
        "文号": "穗府办规〔2024〕13号",
    }
    doc = Document("d", "t", "x", meta=meta)
    assert (doc.issuer, doc.date, doc.number) == ("某市人民政府办公厅", "2024-07-26", meta["文号"])
    site_only = Document("d", "t", "x", meta={"发布机构": "某街道办事处", "发布日期": "2024-09-12"})
    assert (site_only.issuer, site_only.date, site_only.number) == (
        "某街道办事处",
        "2024-09-12",
        "",
    )


def test_html_blocks_are_not_rejoined_as_hard_line_breaks():
    page = "<div><p>附件：推广清单</p><p>国务院办公厅</p><p>2018年12月23日</p></div>"
    doc = document_from(read_html(page.encode(), "x.html"), "x", "x.html")
    assert doc.text.split("\n") == ["附件：推广清单", "国务院办公厅", "2018年12月23日"]
    assert doc.date == "2018年12月23日"  # the signature date, as the page declares none


def test_guangzhou_normative_document_block_maps_to_canonical_keys():
    page = f"""<html><body><div class="xxgkcontop"><ul>
      <li><span>统一编号：</span> GZ0220210019 </li>
      <li><span>文　　号：</span> 穗府办规〔2021〕19号 </li>
      <li><span>实施日期：</span> 2021年12月06日 </li>
      <li><span>失效日期：</span> 2029年12月06日 </li>
      <li><span>发布机关：</span> 广州市人民政府办公厅 </li>
      <li><span>文件状态：</span>有效</li></ul></div>
      <h1 class="info_title">广州市临时救助实施细则</h1>
      <div class="info_cont"><p>穗府办规〔2021〕19号</p><p>{ARTICLE}</p></div>
    </body></html>"""
    extracted = read_html(page.encode(), "gz.html")
    assert extracted.meta == {
        "统一编号": "GZ0220210019",
        "发文字号": "穗府办规〔2021〕19号",
        "实施日期": "2021年12月06日",
        "失效日期": "2029年12月06日",
        "发文机关": "广州市人民政府办公厅",
    }
    assert [line.text for line in extracted.lines] == [
        "广州市临时救助实施细则",  # the <h1> before the body becomes line 1
        "穗府办规〔2021〕19号",
        ARTICLE,
    ]


def test_title_block_nearest_the_body_not_the_site_banner_or_breadcrumb():
    page = f"""<html><head><title>某办法 - 某区人民政府门户网站</title></head><body>
      <h1 class="print-title">某区人民政府政府信息公开</h1>
      <h1>您当前所在的位置：首页 &gt; 政务公开</h1>
      <h1 class="title">某区促进科技创新的实施办法</h1>
      <div class="article-content"><p>{ARTICLE}</p></div></body></html>"""
    assert read_html(page.encode(), "x.html").title == "某区促进科技创新的实施办法"
    no_heading = "\n".join(line for line in page.split("\n") if "<h1" not in line)
    assert read_html(no_heading.encode(), "x.html").title == ""  # the <title> is not in the body
    spelled = no_heading.replace("<p>第一条", "<p>某</p><p>办法</p><p>第一条")
    extracted = read_html(spelled.encode(), "x.html")  # <title> minus the site, body agrees
    assert extracted.title == "某办法" and extracted.lines[0].text == "某办法"


def test_reprint_marker_removed_from_title():
    page = f"""<table><tr><td>名称：</td><td>（转载）某市公共租赁住房管理办法</td></tr></table>
      <div class="article-content"><p>{ARTICLE}</p></div>"""
    assert read_html(page.encode(), "x.html").title == "某市公共租赁住房管理办法"


# --- tables ----------------------------------------------------------------------------------


def test_table_with_rowspans_becomes_annotated_lines():
    page = f"""<div class="article-content"><p>{ARTICLE}</p><p>附件2</p><table>
      <tr><td colspan="4">任务分工表</td></tr>
      <tr><th>序号</th><th>工作事项</th><th>牵头单位</th><th>配合单位</th></tr>
      <tr><td rowspan="2">1</td><td>扩大家庭医生来源</td><td rowspan="2">各区政府</td>
          <td>市卫生健康委</td></tr>
      <tr><td>优化签约服务团队</td><td>市人社局</td></tr>
      <tr><td>2</td><td>保障合理用药</td><td>市医保局</td><td>/</td></tr>
    </table></div>"""
    assert lines(page)[1:] == [
        "附件2",
        "任务分工表",
        "1.工作事项：扩大家庭医生来源（牵头单位：各区政府；配合单位：市卫生健康委）",
        "1.工作事项：优化签约服务团队（牵头单位：各区政府；配合单位：市人社局）",
        "2.工作事项：保障合理用药（牵头单位：市医保局；配合单位：/）",
    ]


def test_grouped_header_rows_become_one_header():
    page = """<div><p>附件1</p><table>
      <tr><td rowspan="2">序号</td><td colspan="2">统筹基金最高支付限额</td>
          <td rowspan="2">审核确认有效期</td></tr>
      <tr><td>职工医保</td><td>城乡居民医保</td></tr>
      <tr><td>1</td><td>200元/月</td><td>50元/月</td><td>长期</td></tr></table></div>"""
    assert lines(page) == [
        "附件1",
        "1.统筹基金最高支付限额（职工医保）：200元/月；统筹基金最高支付限额（城乡居民医保）：50元/月"
        "；审核确认有效期：长期",
    ]


def test_hostile_spans_are_bounded():
    page = (
        '<div><p>正文</p><table><tr><td>项目</td><td>金额</td></tr><tr><td rowspan="999999999">'
        'A</td><td colspan="-3">1元</td></tr><tr><td colspan="x">2元</td></tr></table></div>'
    )
    assert lines(page) == ["正文", "项目：A；金额：1元", "项目：A；金额：2元"]


PIECES = st.sampled_from([
    "<p>", "</p>", "<div>", "</div>", "<table>", "<tr>", "<td rowspan=3>", "<td colspan=99999>",
    "</td>", "</tr>", "</table>", "<br>", "<b>索 引 号：</b>", "<span>文　　号：</span>", "<h1>",
    "</h1>", "<!--", "-->", "<script>", "</script>", "<?xml version='1.0' encoding='gbk'?>",
    "<meta charset=gbk>", "\ufeff", "\x00", "&nbsp;", "&#0;", "<", ">", "\r\n",
])  # fmt: skip
TEXT = st.text(alphabet="一二三政策条第、（）：1. ab\n", max_size=20)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.one_of(PIECES, TEXT), max_size=60), st.sampled_from(["utf-8", "gb18030"]))
def test_any_markup_is_read_or_refused_never_crashes(parts, encoding):
    raw = "".join(parts).encode(encoding, errors="ignore")
    try:
        extracted = read_html(raw, "x.html")
    except UnreadableFile:
        return
    assert all(line.text and line.text == line.text.strip(" ") for line in extracted.lines)


def test_layout_table_is_read_as_blocks_not_fields():
    page = f"""<table><tr><td><table><tr><td id="UCAP-CONTENT"><p>{ARTICLE}</p>
      <p>第二条　本条例自公布之日起施行。</p></td></tr></table></td></tr></table>"""
    assert lines(page) == [ARTICLE, "第二条　本条例自公布之日起施行。"]


# --- real dev pages --------------------------------------------------------------------------


def test_d01_gov_cn_metadata_table_not_in_the_body(dev):
    d = dev("d01")
    assert (
        d.meta["索引号"] == "000014349/2019-00003"
        and d.meta["主题分类"] == "商贸、海关、旅游\\海关"
    )
    for label in ("索引号", "索 引 号", "主题分类", "扫一扫在手机打开当前页"):
        assert label not in d.text
    assert d.text.split("\n")[:2] == [d.title, "国发〔2019〕3号"]
    assert d.text.endswith("（此件公开发布）")


@pytest.mark.parametrize("prefix", ["d29", "d30", "d31", "d35"])
def test_guangzhou_pages_with_the_body_twice_keep_it_once(prefix, dev):
    d = dev(prefix)
    body = d.text.split("\n")
    assert len(body) == len(set(body)) or all(len(b) < 40 for b in body if body.count(b) > 1)
    first = next(line for line in body if line.startswith(("第一条", "一、")))
    assert d.text.count(first) == 1
    for junk in ("政策解读", "返回顶部", "关闭窗口", "扫一扫在手机打开当前页", "网站标识码"):
        assert junk not in d.text


def test_d21_br_separated_spans_with_strong_headings(dev):
    d = dev("d21")
    lines_ = d.text.split("\n")
    assert lines_[:2] == [
        "国家发展改革委 国家能源局关于加强和规范电网规划投资管理工作的通知",
        "发改能源规〔2020〕816号",
    ]
    assert "一、切实加强电网规划统筹协调与实施" in lines_
    assert "（一）深化电网规划编制内容要求" in lines_


def test_d26_task_table_rowspans_give_each_row_its_units(dev):
    d = dev("d26")
    rows = [line for line in d.text.split("\n") if line.startswith("18.工作事项")]
    assert len(rows) == 4  # one 工作事项 cell spanning four rows of tasks
    assert all("牵头单位：" in row and "配合单位：" in row for row in rows)
    assert "（牵头单位：市卫生健康委；配合单位：各区政府；" in rows[2]
    tree = parse_clauses(d)  # the caption's “附件2” line opens the attachment
    row = d.text.index(rows[0])
    assert tree.clause_at(row).path[0] == "附件2"
    assert any(r.lead == ("市卫生健康委",) for r in tree.responsibilities_in(row, row + 400))


def test_d09_reform_list_table_keeps_its_guiding_departments(dev):
    d = dev("d09")
    row = next(line for line in d.text.split("\n") if line.startswith("1.改革举措："))
    assert "指导部门：最高人民法院、最高人民检察院、国家知识产权局" in row
    assert row.endswith("推广范围：全国")


def test_interpretation_links_and_attachment_box_do_not_reach_the_text():
    page = f"""<div class="article-content"><p>点击查看政策解读：【音频解读】关于《某办法》的解读</p>
      <p>{ARTICLE}</p><p>政策解读：https://www.gz.gov.cn/zcjd/post_1.html</p>
      <p>一图读懂：https://www.gz.gov.cn/ytdd/post_2.html</p><p>相关附件</p><p>附件1.docx</p></div>"""
    doc = document_from(read_html(page.encode(), "x.html"), "x", "x.html")
    assert doc.text == ARTICLE


def test_d45_grouped_header_names_both_levels(dev):
    text = dev("d45").text
    assert "2.门诊特定病种（分类）：一类；门诊特定病种（病种名称）：糖尿病；" in text
    assert "统筹基金最高支付限额（职工医保）：200元/月" in text
