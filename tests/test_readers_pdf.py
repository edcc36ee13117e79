"""The PDF reader: the three dev PDFs (d41–d43), PDFs built here with known layout, and OCR.

PDFs built in these tests use the non-embedded Adobe CJK font STSong-Light (CIDs mapped from
UCS-2), which every PDF library decodes without a font file, and Helvetica for Latin text.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pypdfium2
import pytest

from rag.clauses import parse_clauses
from rag.errors import UnreadableFile
from rag.normalize import document_from
from rag.readers import read as read_any
from rag.readers import sniff
from rag.readers.ocr import rows_from_boxes
from rag.readers.pdf import drop_running, read
from rag.zh import fold

REPO = Path(__file__).resolve().parent.parent
DEV = REPO / "eval" / "dev" / "corpus"
DATA = Path(__file__).resolve().parent / "data"
SCANNED = DATA / "scanned_d41_p3.pdf"  # page 3 of d41 rendered to a 200 dpi grayscale image
HAN = re.compile(r"[\u3400-\u9fff]")
LATIN = re.compile(r"[A-Za-z]")


# --- the dev PDFs, read once per module ------------------------------------------------------


@pytest.fixture(scope="module")
def dev(dev_read):
    """name → (Document, page count, pages per second of the reader); each PDF is read once
    per session (``dev_read``, shared with the other dev-document tests)."""
    out = {}
    for path in sorted(DEV.glob("d4[123]_*.pdf")):
        doc, seconds = dev_read(path.name[:3])
        pages = len(pypdfium2.PdfDocument(path.read_bytes()))
        out[path.name[:3]] = (doc, pages, pages / seconds)
    return out


def test_dev_pdfs_have_their_titles_pages_and_first_headings(dev):
    d41, d42, d43 = dev["d41"][0], dev["d42"][0], dev["d43"][0]
    assert d41.title == "關於進行截取及秘密監察的授權申請的運作原則及指引"  # not "cgn2020245074"
    assert d42.title == "中華人民共和國香港特別行政區維護國家安全法第四十三條實施細則"
    assert d43.title.startswith("中華人民共和國憲法")
    for doc in (d41, d42, d43):
        assert doc.text.split("\n")[0] == doc.title
    assert [dev[n][1] for n in ("d41", "d42", "d43")] == [12, 116, 170]
    assert d43.pages[-1][1] == 170 and d41.pages[-1][1] == 12  # the page map reaches the end
    clauses = parse_clauses(d43).clauses  # a booklet of laws: each law is a top-level clause
    assert [(c.label, c.title) for c in clauses[:3]] == [
        ("", "中華人民共和國憲法"),
        ("第一章", "總綱"),
        ("第一條", ""),
    ]
    first = d43.text[clauses[2].start : clauses[2].end]  # a sentence, not a title: no title
    assert first.startswith("第一條 中華人民共和國是工人階級領導的")
    d42_items = [(c.label, c.title) for c in parse_clauses(d42).clauses if c.kind == "1."]
    assert d42_items[:2] == [("1.", "生效日期"), ("2.", "附表")]
    assert "\nA. 概論\n" in d41.text and "\nC1. 有關當局\n" in d41.text


def test_dev_pdfs_lose_running_headers_page_numbers_and_contents(dev):
    for name, (doc, pages, _) in dev.items():
        lines = doc.text.split("\n")
        assert not [line for line in lines if re.fullmatch(r"[A-Z]?\d{1,5}|-\s*\d+\s*-", line)]
        assert not [line for line in lines if re.match(r"B\d{4}\b", line)], name  # gazette pages
        assert not [line for line in lines if "........" in line], name  # contents entries
    d42 = dev["d42"][0].text.split("\n")
    header = "《中華人民共和國香港特別行政區維護國家安全法第四十三條實施細則》"
    assert d42.count(header) <= 1  # the heading on page 3 stays; 116 running headers went
    assert sum(line.startswith("2020年第139號法律公告") for line in d42) <= 1
    d43 = dev["d43"][0].text
    assert "..." not in d43 and "目錄" not in d43.replace(" ", "")


def test_dev_pdfs_map_sentences_to_their_pages(dev):
    for name, sentence, page in [
        ("d41", "39. 不遵守附表6的條文", 12),
        ("d42", "本實施細則自2020年7月7日起實施", 5),
        ("d43", "第一百零四條 縣級以上的地方各級人民代表大會常務委員會", 41),
        ("d43", "第一條 中華人民共和國是工人階級領導的", 18),
    ]:
        doc = dev[name][0]
        assert doc.page_at(doc.text.index(sentence)) == page, (name, sentence)


def test_dev_pdfs_join_wrapped_lines_and_keep_traditional_script(dev):
    d41, d43 = dev["d41"][0].text, dev["d43"][0].text
    # wrapped inside a heading's first line, and across a page turn (page 66 → 67)
    assert "5. 關於相當可能導致取得可能享有法律專業保密權的資料的截取或秘密監察行動的申請" in d41
    assert "第六十條 香港特別行政區政府的首長是香港特別行政區行政長官。" in d43
    assert "\n序言\n中國是世界上歷史最悠久的國家之一。" in d43  # a heading is never joined
    assert "條" in d43 and "第一百零四条" not in d43
    letter_spaced = re.compile(
        r"(?<![\u3400-\u9fff])[\u3400-\u9fff] [\u3400-\u9fff](?![\u3400-\u9fff])"
    )
    for name, (doc, _, _) in dev.items():
        assert not letter_spaced.search(doc.text), name  # "總 綱" became "總綱"


def test_d42_keeps_the_chinese_text_of_the_bilingual_gazette(dev):
    text = dev["d42"][0].text
    han, latin = len(HAN.findall(text)), len(LATIN.findall(text))
    assert han > 30_000
    assert latin < 0.1 * han  # only the English terms glossed in definitions, e.g. 地方(place)
    assert not [x for x in text.split("\n") if len(LATIN.findall(x)) > 10 and not HAN.search(x)]
    assert "Implementation Rules" not in text and "WHEREAS" not in text


def test_dev_pdfs_read_fast(dev):
    speeds = {name: round(pps) for name, (_, _, pps) in dev.items()}
    print("pages/s:", speeds)
    assert all(pps >= 5 for pps in speeds.values()), speeds


# --- PDFs built here ---------------------------------------------------------------------------


def make_pdf(pages: list[list[tuple[float, float, float, str]]], width=595, height=842) -> bytes:
    """A PDF whose pages hold (x, top, size, text) runs: CJK in STSong-Light, ASCII in
    Helvetica, one glyph per em for CJK."""
    objects: list[bytes] = []

    def add(body: bytes) -> int:
        objects.append(body)
        return len(objects)

    cjk = add(
        b"<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light /Encoding /UniGB-UCS2-H "
        b"/DescendantFonts [<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light "
        b"/CIDSystemInfo << /Registry (Adobe) /Ordering (GB1) /Supplement 2 >> /DW 1000 "
        b"/FontDescriptor << /Type /FontDescriptor /FontName /STSong-Light /Flags 6 "
        b"/FontBBox [0 -200 1000 900] /ItalicAngle 0 /Ascent 880 /Descent -120 "
        b"/CapHeight 880 /StemV 80 >> >>] >>"
    )
    latin = add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    parent = len(objects) + 2 * len(pages) + 1
    kids = []
    for runs in pages:
        ops = []
        for x, top, size, text in runs:
            y = height - top - size
            if text.isascii():
                escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
                ops.append(f"BT /F2 {size} Tf {x} {y} Td ({escaped}) Tj ET")
            else:
                ops.append(f"BT /F1 {size} Tf {x} {y} Td <{text.encode('utf-16-be').hex()}> Tj ET")
        stream = "\n".join(ops).encode()
        content = add(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
        page = (
            b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 %d %d] /Contents %d 0 R "
            b"/Resources << /Font << /F1 %d 0 R /F2 %d 0 R >> >> >>"
            % (parent, width, height, content, cjk, latin)
        )
        kids.append(add(page))
    refs = b" ".join(b"%d 0 R" % k for k in kids)
    assert add(b"<< /Type /Pages /Kids [%s] /Count %d >>" % (refs, len(kids))) == parent
    root = add(b"<< /Type /Catalog /Pages %d 0 R >>" % parent)
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    trailer = b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n"
    out += trailer % (len(objects) + 1, root, xref)
    return bytes(out)


WIDTH = 30  # characters per full line of 12 pt text from x = 72


def paragraph(text: str, top: float, indent: int = 2) -> list[tuple[float, float, float, str]]:
    """A paragraph set in full lines of ``WIDTH`` characters, first line indented."""
    runs, first = [], WIDTH - indent
    chunks = [text[:first]] + [text[i : i + WIDTH] for i in range(first, len(text), WIDTH)]
    for n, chunk in enumerate(chunks):
        runs.append((72 + (indent * 12 if n == 0 else 0), top + 18 * n, 12, chunk))
    return runs


def framed(number: int, runs: list) -> list:
    """A page with a running header and a page number in the footer."""
    return [(72, 36, 9, "某市人民政府办公室文件"), *runs, (280, 800, 10, f"- {number} -")]


BODY = "为推进测试工作，现就有关事项通知如下，请各单位结合实际认真抓好落实并及时报送情况"


def test_synthetic_pdf_loses_header_and_page_numbers_and_joins_across_pages():
    long = (BODY * 30)[: WIDTH * 38 - 2] + "跨页继续的这句话在第二页结束。"  # 38 full lines
    lines = paragraph(long, 154)
    on_page1 = [r for r in lines if r[1] < 760]  # the rest runs over to page 2
    rest = [
        (x, 72 + 18 * n, size, text) for n, (x, _, size, text) in enumerate(lines[len(on_page1) :])
    ]
    assert on_page1 and rest
    page1 = [(72, 80, 22, "关于开展测试工作的通知"), (72, 130, 12, "一、工作目标"), *on_page1]
    page2 = rest + paragraph("第二页独有的句子，用来检查页码。", 72 + 18 * len(rest) + 10)
    page3 = [(72, 72, 12, "二、工作要求"), *paragraph("各单位要加强领导，落实责任。", 96)]
    raw = make_pdf([framed(1, page1), framed(2, page2), framed(3, page3)])
    assert sniff(raw, "notice.txt") == "pdf"
    extracted = read_any(raw, "notice.pdf")
    doc = document_from(extracted, "notice", "notice.pdf")
    assert doc.title == "关于开展测试工作的通知"
    assert "某市人民政府办公室文件" not in doc.text
    assert not re.search(r"-\s*\d\s*-", doc.text)
    lines = doc.text.split("\n")
    assert lines[:2] == ["关于开展测试工作的通知", "一、工作目标"]
    joined = next(line for line in lines if line.endswith("在第二页结束。"))
    assert joined.startswith(long[:20]) and len(joined) == len(long)  # one paragraph
    assert "二、工作要求" in lines and "各单位要加强领导，落实责任。" in lines  # not joined
    text = doc.text
    assert doc.page_at(text.index("一、工作目标")) == 1
    assert doc.page_at(text.index("第二页独有的句子")) == 2
    assert doc.page_at(text.index("二、工作要求")) == 3
    assert doc.page_at(text.index("各单位要加强领导")) == 3


def test_title_is_the_documents_name_not_its_masthead():
    runs = [
        (120, 60, 30, "某市人民政府文件"),
        (200, 120, 12, "某府发〔2024〕1号"),
        (100, 160, 20, "关于开展测试工作"),
        (140, 186, 20, "的通知"),
        *paragraph(BODY * 3, 230),
    ]
    extracted = read(make_pdf([runs]), "notice.pdf")
    assert extracted.title == "关于开展测试工作的通知"
    assert [line.text for line in extracted.lines[:3]] == [
        "关于开展测试工作的通知",
        "某市人民政府文件",
        "某府发〔2024〕1号",
    ]


def test_synthetic_two_column_page_keeps_the_chinese_column_in_order():
    chinese = [f"第{n}行中文内容，测试分栏读取顺序。" for n in range(1, 21)]
    english = [f"Line {n} of the English translation text." for n in range(1, 21)]
    runs = [(40, 60 + 22 * n, 12, line) for n, line in enumerate(chinese)]
    runs += [(440, 60 + 22 * n, 11, line) for n, line in enumerate(english)]
    raw = make_pdf([runs], width=842, height=595)
    lines = [line.text for line in read(raw, "spread.pdf").lines]
    assert lines == chinese


def test_synthetic_english_page_of_a_chinese_document_is_dropped():
    chinese = [(72, 72 + 20 * n, 12, f"第{n}条 中文正文内容，保持原样。") for n in range(1, 15)]
    english = [
        (72, 72 + 20 * n, 12, f"Article {n} English text is left out.") for n in range(1, 15)
    ]
    raw = make_pdf([chinese, english, chinese])
    extracted = read(raw, "bilingual.pdf")
    assert {line.page for line in extracted.lines} == {1, 3}
    assert not any(LATIN.search(line.text) for line in extracted.lines)


def test_running_lines_are_judged_by_repetition_and_position():
    from rag.readers.pdf import Row

    def row(text, top):
        return Row(text, top, top + 12, 72, 300, 12)

    pages = [
        [row("2020年第1號公告 附表1" if i % 2 else "2020年第1號公告 附表2——第3部", 20),
         row(f"B{2400 + 2 * i} 第{i}條", 34),
         *[row(f"正文{'甲乙丙丁戊己'[i]}{'一二三四五'[n]}段。", 60 + 20 * n) for n in range(5)],
         row(f"{i + 1}", 800)]
        for i in range(6)
    ]  # fmt: skip
    kept = drop_running(pages)
    assert [[r.text for r in rows] for rows in kept] == [
        [f"正文{'甲乙丙丁戊己'[i]}{'一二三四五'[n]}段。" for n in range(5)] for i in range(6)
    ]


def test_unreadable_pdfs_say_what_to_do():
    with pytest.raises(UnreadableFile, match="damaged"):
        read(b"%PDF-1.4 not really a pdf", "broken.pdf")
    with pytest.raises(UnreadableFile, match="no text"):
        read(make_pdf([[]]), "blank.pdf")


# --- OCR ---------------------------------------------------------------------------------------


def test_ocr_boxes_become_lines_top_to_bottom_left_to_right():
    def box(x0, y0, x1, y1, text):
        return ([(x0, y0), (x1, y0), (x1, y1), (x0, y1)], text)

    boxes = [
        box(200, 52, 300, 70, "右半行。"),
        box(10, 100, 300, 118, "第三行"),
        box(10, 50, 190, 68, "左半行，"),
        box(10, 10, 300, 28, "第一行标题"),
    ]
    rows = rows_from_boxes(boxes)
    assert [r.text for r in rows] == ["第一行标题", "左半行，右半行。", "第三行"]
    assert rows[1].x0 == 10 and rows[1].x1 == 300


def test_scanned_page_goes_to_ocr_with_progress_and_a_note(monkeypatch):
    from rag.readers import ocr

    seen = []

    def engine(image):
        seen.append(image.shape)
        return [[[[40, 60], [700, 60], [700, 90], [40, 90]], "扫描页上的文字。", 0.99]], 0.1

    monkeypatch.setattr(ocr, "_engine", lambda: engine)
    progress = []
    raw = SCANNED.read_bytes()
    extracted = read(raw, SCANNED.name, lambda done, total: progress.append((done, total)))
    assert [line.text for line in extracted.lines] == ["扫描页上的文字。"]
    assert progress == [(1, 1)] and len(seen) == 1
    assert seen[0][0] > 1500  # rendered near 200 dpi (the page is 8.2 in high)
    doc = document_from(extracted, "scan", SCANNED.name)
    assert doc.meta["说明"] == "第1页为扫描件，文字由OCR识别"
    assert doc.page_at(0) == 1


def test_a_scanned_page_between_text_pages_is_noted_by_its_number(monkeypatch):
    import io

    from rag.readers import ocr

    def engine(image):
        return [[[[40, 60], [700, 60], [700, 90], [40, 90]], "扫描页上的文字。", 0.99]], 0.1

    monkeypatch.setattr(ocr, "_engine", lambda: engine)
    text = pypdfium2.PdfDocument(
        make_pdf([paragraph("第一页正文。", 72), paragraph("第三页正文。", 72)])
    )
    mixed = pypdfium2.PdfDocument.new()
    mixed.import_pages(text, [0])
    mixed.import_pages(pypdfium2.PdfDocument(SCANNED.read_bytes()))
    mixed.import_pages(text, [1])
    buffer = io.BytesIO()
    mixed.save(buffer)
    extracted = read(buffer.getvalue(), "mixed.pdf")
    assert [(line.text, line.page) for line in extracted.lines] == [
        ("第一页正文。", 1),
        ("扫描页上的文字。", 2),
        ("第三页正文。", 3),
    ]
    assert extracted.notes == ("第2页为扫描件，文字由OCR识别",)


def test_too_many_scanned_pages_are_refused_before_any_ocr(monkeypatch):
    from rag.readers import ocr, pdf

    def engine():
        raise AssertionError("OCR must not start")

    monkeypatch.setattr(ocr, "_engine", engine)
    monkeypatch.setattr(pdf, "MAX_OCR_PAGES", 0)
    with pytest.raises(UnreadableFile, match="1 scanned pages, more than 0"):
        read(SCANNED.read_bytes(), SCANNED.name)


def test_scanned_fixture_is_small_and_has_no_text_layer():
    raw = SCANNED.read_bytes()
    assert len(raw) < 300_000
    pdf = pypdfium2.PdfDocument(raw)
    assert len(pdf) == 1 and pdf[0].get_textpage().count_chars() == 0


def levenshtein(a: str, b: str) -> int:
    """Edit distance (insertions, deletions, substitutions)."""
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def test_levenshtein():
    assert levenshtein("截取及秘密監察", "截取秘密監查") == 2
    assert levenshtein("", "abc") == 3 and levenshtein("abc", "abc") == 0


@pytest.mark.slow
def test_ocr_reads_a_real_scanned_page_accurately():
    truth_lines = read((DEV / "d41_hk_interception_guidelines_tc.pdf").read_bytes(), "d41.pdf")
    truth = "".join("".join(line.text for line in truth_lines.lines if line.page == 3).split())
    started = time.perf_counter()
    extracted = read(SCANNED.read_bytes(), SCANNED.name)
    seconds = time.perf_counter() - started
    got = "".join("".join(line.text for line in extracted.lines).split())
    # matching folds script and width (則/则, （/( are the same to search), so accuracy does too
    accuracy = 1 - levenshtein(fold(got), fold(truth)) / len(truth)
    raw_accuracy = 1 - levenshtein(got, truth) / len(truth)
    print(f"OCR: {1 / seconds:.2f} pages/s, accuracy {accuracy:.3f} (unfolded {raw_accuracy:.3f})")
    assert accuracy >= 0.95
    assert extracted.notes == ("第1页为扫描件，文字由OCR识别",)


# --- page in citations ---------------------------------------------------------------------------


def test_citations_of_a_pdf_carry_their_page(dev, monkeypatch):
    from typer.testing import CliRunner

    from rag import cli
    from rag.answer import Candidate, citation
    from rag.types import Answer, Chunk, Hit

    tree = parse_clauses(dev["d41"][0])
    start = tree.doc.text.index("39. 不遵守附表6的條文")
    end = tree.doc.text.index("。", start) + 1
    chunk = Chunk(
        "d41#0", tree.doc.doc_id, tree.doc.title, "", start, end, tree.doc.text[start:end], (), 10
    )
    found = Candidate(Hit(chunk, 1, 1.0), tree, start, end, 1.0, 1.0, None, None, None, True, 1.0)
    cited = citation(found)
    assert cited.page == 12
    answer = Answer("问题", cited.text, True, "general", (cited,), 1.0)
    assert answer.to_dict()["citations"][0]["page"] == 12

    class Engine:
        def ask(self, question, **_):
            return answer

    monkeypatch.setattr(cli, "_engine", lambda settings: Engine())
    result = CliRunner().invoke(cli.app, ["ask", "问题"])
    assert result.exit_code == 0, result.output
    assert "第12页" in result.output


def test_pdfs_read_in_threads_match_a_single_read():
    from concurrent.futures import ThreadPoolExecutor

    raw = (DEV / "d41_hk_interception_guidelines_tc.pdf").read_bytes()
    alone = read(raw, "d41.pdf")
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda n: read(raw, f"d41-{n}.pdf"), range(4)))
    assert all(result == alone for result in results)


# --- what normalisation does with a PDF's lines ----------------------------------------------------


def test_a_punctuation_free_line_on_a_new_page_is_not_joined_to_the_last_one():
    from rag.readers import Extracted, Line

    lines = (
        Line("標題", 1),
        Line("根據修正案，作出修正", 1),
        Line("序言", 2),
        Line("中國是國家。", 2),
    )
    doc = document_from(Extracted("pdf", lines), "x", "x.pdf")
    assert doc.text.split("\n") == ["標題", "根據修正案，作出修正", "序言", "中國是國家。"]
    assert doc.page_at(doc.text.index("序言")) == 2
    tail = (Line("標題", 1), Line("政府的首長，是香港特別行政區行", 1), Line("政長官。", 2))
    doc = document_from(Extracted("pdf", tail), "x", "x.pdf")
    assert (
        doc.text.split("\n")[1] == "政府的首長，是香港特別行政區行政長官。"
    )  # a tail with its full stop


def test_a_traditional_title_is_not_merged_with_the_gazette_number_after_it():
    from rag.readers import Extracted, Line

    title = "中華人民共和國香港特別行政區維護國家安全法第四十三條實施細則"
    lines = (Line(title, 1), Line("2020年第139號法律公告", 1), Line("正文。", 1))
    doc = document_from(Extracted("pdf", lines, title=title), "x", "x.pdf")
    assert doc.text.split("\n")[:2] == [title, "2020年第139號法律公告"]


def test_d42_spreads_shown_whole_still_read_as_chinese_only(dev):
    """With the crop box widened to the whole spread (Chinese page left, English page right),
    the columns are split at the gutter and the English one is dropped."""
    import io

    source = pypdfium2.PdfDocument((DEV / "d42_hk_nsl_art43_rules_tc.pdf").read_bytes())
    spreads = pypdfium2.PdfDocument.new()
    spreads.import_pages(source, list(range(12)))
    for index in range(len(spreads)):
        page = spreads[index]
        page.set_cropbox(*page.get_mediabox())
    buffer = io.BytesIO()
    spreads.save(buffer)
    text = document_from(read(buffer.getvalue(), "spreads.pdf"), "s", "s.pdf").text
    cropped = dev["d42"][0].text
    words = set(re.findall(r"[A-Za-z]{3,}", text))
    assert words <= set(re.findall(r"[A-Za-z]{3,}", cropped))  # glosses like (place) only
    assert "WHEREAS" not in text and "Implementation Rules" not in text
    for sentence in (
        "本實施細則自2020年7月7日起實施。",
        "現制定本實施細則如下——",
        "(3) 律政司司長、保安局局長或警務人員，可按照附表3所訂",
    ):
        assert sentence in text and sentence in cropped
