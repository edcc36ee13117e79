"""Responsibility annotations: one grammar for every way a document names who does an item.

One table of keys with their role (``KEYS``): lead (牵头单位, 责任单位…), participants (配合单位,
参与单位…), deadline (完成时限…) and other (指导部门…, kept with its name). Two shapes use it:

- key–value fields in a bracket ``〔责任单位:X〕``, ``（牵头单位：X；配合单位：Y；完成时限：Z）``,
  on a line of their own, or trailing a sentence unbracketed (``…。责任单位：X``). Fields are
  separated by ；，、 or spaces; a key the table does not know (``市卫健委内牵头处室``: a
  sub-unit) is kept under its own name in ``other``, never mixed into the document-level units;
- duties written as a short bracket after a sentence: ``（X牵头，Y参与）``, ``（X、Y负责）``,
  ``（X等负责）``, ``（X牵头负责）``, ``（X指导，Y参与）``, ``（X会同Y负责）``,
  ``（X，各省级人民政府按职责分工负责）``. All units before 负责 lead, unless the document states
  that the first-listed unit leads (“排在第一位的部门为牵头部门，下同”, “列第一位者为牵头单位”):
  from that annotation on, the first unit of every “X、Y负责” leads and the rest participate.

A document may name a unit once for every later item (“以下均需X市政府落实，不再列出”): every
annotation after that statement names it too, as ``负责落实`` in ``other``.

Anything else in brackets — “（2018年修订）”, “（以下简称…）”, “（一）” — is not an annotation.
Prose duties (“由X负责…” inside a sentence) are read elsewhere (``rag.duties.prose_duty``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from rag.duties import kind_of
from rag.zh import bracket_pairs, fold, split_units

KEYS_BY_ROLE = {
    "lead": "牵头单位 牵头部门 牵头考核单位 牵头责任单位 责任单位 责任部门 主办单位 主责单位 "
    "主责部门",
    "participants": "参与单位 参与部门 配合单位 配合部门 协办单位 协办部门 协助单位 协助部门 "
    "参加单位",
    "deadline": "完成时限 完成时间 完成期限 时间节点 时限 期限",
    "other": "指导部门 指导单位 督办单位",
}
KEYS: tuple[tuple[str, str], ...] = tuple(
    (key, role) for role, keys in KEYS_BY_ROLE.items() for key in keys.split()
)
ROLE = dict(KEYS)
LEAD_KEYS = tuple(k for k, r in KEYS if r == "lead")
PART_KEYS = tuple(k for k, r in KEYS if r == "participants")
DEADLINE_KEYS = tuple(k for k, r in KEYS if r == "deadline")
OTHER_KEYS = tuple(k for k, r in KEYS if r == "other")
_KEY = "|".join(sorted(ROLE, key=len, reverse=True))
# 〔责任单位:…〕 or (牵头单位:…;参与单位:…): a bracket that opens with a known key
ANNOTATION_OPEN = re.compile(rf"[〔(（【\[]\s*(?=(?:{_KEY})\s*[:：])")
FIELD = re.compile(r"(?:^|(?<=[;,、\s]))(?P<key>[\u4e00-\u9fff]{2,12})\s*:")  # on folded text
KNOWN_FIELD = re.compile(rf"(?P<key>{_KEY})\s*:")
BRACKETS = "(（〔【["
SENTENCE_END = "。；;！？!?"
FIRST_IS_LEAD = re.compile(r"(排在|列|排)第一位(的部门|的单位|者|的)?(为|是)牵头(部门|单位)")
VERBS: tuple[tuple[str, str], ...] = (  # longest first; "负责" is lead or first-listed-leads
    ("牵头负责", "lead"),
    ("负责落实", "duty"),
    ("负责", "duty"),
    ("牵头", "lead"),
    ("配合", "participants"),
    ("参与", "participants"),
    ("协助", "participants"),
    ("协办", "participants"),
    ("指导", "other"),
)
DUTY = re.compile(
    r"^(?P<who>.+?)(?:等(?:有关部门和单位|有关部门|有关单位)?)?(?:按职责分工|分别|共同)?"
    rf"(?P<verb>{'|'.join(v for v, _ in VERBS)})$"
)
VERB_ROLE = dict(VERBS)
UNIT_AND = re.compile(r"等(?:有关部门和单位|有关部门|有关单位)?和")  # “…总工会等和各省级人民政府”
UNIT_TAIL = re.compile(r"等(?:有关部门和单位|有关部门|有关单位)?$")
NOT_A_UNIT = re.compile(r"[由的在对将向把被了从\d]")
NO_UNIT = frozenset({"/", "无", "-", "—", "——"})
OTHER_VERB_NAME = "指导部门"
# “以下均需X市政府落实，不再列出”: a unit the document names once for every later item
EVERY_LATER = re.compile(
    r"以下(?:各项|所列)?(?:任务|工作|事项)?(?:均|都|皆)?(?:需要|需|须|应由|由)"
    r"(?P<who>[^,;。()]{2,20}?)(?:负责落实|组织落实|落实|负责)"
)
EVERY_LATER_ROLE = "负责落实"


@dataclass(frozen=True)
class Annotation:
    """One annotation found in a text, with the units it names by role."""

    start: int
    end: int
    lead: tuple[str, ...] = ()
    participants: tuple[str, ...] = ()
    deadline: str = ""
    other: tuple[tuple[str, str], ...] = ()  # (role as written, unit)

    @property
    def names_anyone(self) -> bool:
        return bool(self.lead or self.participants or self.other)


def find_annotations(text: str) -> list[Annotation]:
    """Every annotation of a document, in text order (nested brackets belong to the outer one).

    >>> t = "推进结算。〔责任单位:区医保局〕\\n加强合作。（2018年修订）\\n签约。（甲局、乙局负责）"
    >>> [(t[a.start:a.end], a.lead) for a in find_annotations(t)]
    [('〔责任单位:区医保局〕', ('区医保局',)), ('（甲局、乙局负责）', ('甲局', '乙局'))]
    """
    folded = fold(text)
    rule = FIRST_IS_LEAD.search(folded)
    pairs = bracket_pairs(text)
    found: list[Annotation] = []
    covered = 0
    for i, ch in enumerate(text):
        if ch not in BRACKETS or i not in pairs or i < covered:
            continue
        end = pairs[i] + 1
        first_leads = rule is not None and rule.start() < end
        note = parse_bracket(text[i + 1 : end - 1], first_leads, _after_sentence(text, i))
        if note is not None:
            found.append(_at(note, i, end))
            covered = end
    starts = {a.start for a in found}
    for s, e in _lines(text):
        found.extend(_unbracketed(text, folded, s, e, pairs, starts))
    merged = _merge_adjacent(text, sorted(found, key=lambda a: a.start))
    # a bare "期限：三年" line is prose, not an annotation, unless it sits with named units
    notes = [a for a in merged if a.names_anyone or text[a.start] in BRACKETS]
    return _with_every_later(folded, notes)


def every_later_unit(folded: str) -> list[tuple[int, str]]:
    """Units a document says take part in every item from here on, with where it says so.

    >>> every_later_unit("（甲部指导，乙市政府负责落实。以下均需乙市政府落实，不再列出）")
    [(25, '乙市政府')]
    >>> every_later_unit("以下简称“办法”。以下均需认真落实。以下由申请人负责")
    []
    """
    return [
        (m.end(), m.group("who"))
        for m in EVERY_LATER.finditer(folded)
        if kind_of(m.group("who")) != "other" and _units(m.group("who")) is not None
    ]


def _with_every_later(folded: str, notes: list[Annotation]) -> list[Annotation]:
    """Annotations after “以下均需X落实，不再列出” name X too (as ``负责落实``), unless they do."""
    rules = every_later_unit(folded)
    if not rules:
        return notes
    out = []
    for note in notes:
        units = [who for at, who in rules if at <= note.start]
        named = {*note.lead, *note.participants, *(u for _, u in note.other)}
        extra = tuple((EVERY_LATER_ROLE, u) for u in dict.fromkeys(units) if u not in named)
        if extra and note.names_anyone:
            note = replace(note, other=note.other + extra)
        out.append(note)
    return out


def _merge_adjacent(text: str, notes: list[Annotation]) -> list[Annotation]:
    """“完成时限：年底（牵头单位：X）”: fields that touch are one annotation."""
    out: list[Annotation] = []
    for note in notes:
        prev = out[-1] if out else None
        if prev and not text[prev.end : note.start].strip(" ;；,，、\u3000"):
            deadline = "；".join(d for d in (prev.deadline, note.deadline) if d)
            lead, part = prev.lead + note.lead, prev.participants + note.participants
            out[-1] = replace(
                prev,
                end=note.end,
                lead=lead,
                participants=part,
                deadline=deadline,
                other=prev.other + note.other,
            )
        else:
            out.append(note)
    return out


def parse_bracket(body: str, first_leads: bool = False, after_sentence: bool = True):
    """The annotation a bracket's body makes, or None when it is not one.

    >>> parse_bracket("牵头单位：卫健委；配合单位：/；委内牵头处室：基层处；完成时限：年底")
    Annotation(start=0, end=0, lead=('卫健委',), participants=(), deadline='年底', \
other=(('委内牵头处室', '基层处'),))
    >>> parse_bracket("生态环境部牵头，发展改革委、统计局参与").participants
    ('发展改革委', '统计局')
    >>> parse_bracket("2018年修订") is None, parse_bracket("以下简称“办法”") is None
    (True, True)
    """
    if KNOWN_FIELD.match(fold(body).lstrip()):
        return parse_fields(body)
    return parse_duties(body, first_leads) if after_sentence else None


def parse_fields(note: str) -> Annotation:
    """Key–value fields (``牵头单位：X；配合单位：Y``) by the role of each key.

    >>> parse_fields("牵头单位:人社局、社管局(综合治理中心);参与单位:经促局、各城市管理办事处")
    Annotation(start=0, end=0, lead=('人社局', '社管局(综合治理中心)'), \
participants=('经促局', '各城市管理办事处'), deadline='', other=())

    A lead key's value that says itself who leads and who helps is read as duties:

    >>> a = parse_fields("责任单位：市发展改革委牵头，市财政局、市统计局配合")
    >>> a.lead, a.participants
    (('市发展改革委',), ('市财政局', '市统计局'))
    """
    folded = fold(note)
    fields = list(FIELD.finditer(folded))
    lead: list[str] = []
    part: list[str] = []
    deadline: list[str] = []
    other: list[tuple[str, str]] = []
    for m, nxt in zip(fields, fields[1:] + [None], strict=True):
        key = m.group("key")
        value = note[m.end() : nxt.start() if nxt else len(note)].strip(" ;；,，、\u3000")
        role = ROLE.get(key, "other")
        if role == "deadline":
            deadline.extend([value] if value and value not in NO_UNIT else [])
            continue
        units = [u for u in split_units(value) if u not in NO_UNIT]
        if role == "lead" and (duties := _roles_in(value)):  # 责任单位：X牵头，Y、Z配合
            lead.extend(duties.lead)
            part.extend(duties.participants)
        elif role == "lead":
            lead.extend(units)
        elif role == "participants":
            part.extend(units)
        else:
            other.extend((note[m.start() : m.start() + len(key)], u) for u in units)
    return Annotation(0, 0, tuple(lead), tuple(part), "；".join(deadline), tuple(other))


# a value naming roles of its own: X牵头，Y配合 (not a unit whose name holds 参与: 参与单位)
ROLES_IN_VALUE = re.compile(r"牵头(?![单部处])|(?:配合|参与|协助|协办)(?![单部处])")


def _roles_in(value: str) -> Annotation | None:
    """The duties a field's value states itself (X牵头，Y配合), None when it only lists units."""
    if not ROLES_IN_VALUE.search(fold(value)):
        return None
    found = parse_duties(value)
    return found if found and found.lead else None


def parse_duties(body: str, first_leads: bool = False) -> Annotation | None:
    """Duties written in a short bracket: “X牵头，Y参与”, “X、Y负责”, “X会同Y负责”.

    >>> parse_duties("海关总署、财政部负责").lead
    ('海关总署', '财政部')
    >>> a = parse_duties("税务总局、财政部负责，排在第一位的部门为牵头部门，下同", True)
    >>> a.lead, a.participants
    (('税务总局',), ('财政部',))
    >>> parse_duties("技工院校内由人力资源社会保障行政部门负责") is None
    True
    """
    lead: list[str] = []
    part: list[str] = []
    other: list[tuple[str, str]] = []
    pending: list[str] = []  # units listed before the segment that says what they do
    duties = 0
    for seg in re.split(r"[,，;；。]", body):
        seg = seg.strip()
        if not seg or FIRST_IS_LEAD.search(fold(seg)) or seg == "下同":
            continue
        m = DUTY.match(seg)
        units = _units(m.group("who")) if m else None
        if units is None:
            if duties == 0 and (more := _units(seg)) is not None:
                pending.extend(more)
                continue
            if duties == 0:
                return None  # it opens with something other than a duty
            continue  # a remark after the duties (“以下均需…，不再列出”)
        role = VERB_ROLE[m.group("verb")]
        units, pending, duties = pending + units, [], duties + 1
        if "会同" in m.group("who"):
            head, _, rest = m.group("who").partition("会同")
            lead.extend(_units(head) or ())
            part.extend(_units(rest) or ())
        elif role == "duty":
            lead.extend(units[:1] if first_leads else units)
            part.extend(units[1:] if first_leads else ())
        elif role == "lead":
            lead.extend(units)
        elif role == "participants":
            part.extend(units)
        else:
            other.extend((OTHER_VERB_NAME, u) for u in units)
    if not duties or pending:
        return None
    return Annotation(0, 0, tuple(lead), tuple(part), "", tuple(other))


def _units(who: str) -> list[str] | None:
    """A list of unit names (“甲局、乙局等和各省级人民政府”), or None if it is not one."""
    units = []
    for part in re.split(r"[、]|会同", who):
        units.extend(UNIT_AND.split(part))
    units = [UNIT_TAIL.sub("", u.strip()) for u in units]
    if not units or any(not 2 <= len(u) <= 20 or NOT_A_UNIT.search(u) for u in units):
        return None
    return units


def _after_sentence(text: str, i: int) -> bool:
    """Does the bracket at ``i`` follow a sentence end (or open its line)?"""
    j = i - 1
    while j >= 0 and text[j] in " \u3000\t":
        j -= 1
    return j < 0 or text[j] in SENTENCE_END + "\n”’"


def _lines(text: str) -> list[tuple[int, int]]:
    spans, start = [], 0
    for line in text.split("\n"):
        spans.append((start, start + len(line)))
        start += len(line) + 1
    return spans


def _unbracketed(text: str, folded: str, s: int, e: int, pairs: dict[int, int], notes: set[int]):
    """``责任单位：X`` opening a line, or trailing a sentence on it: up to the line end, the first
    field whose key the table does not know, or a bracketed annotation."""
    line = folded[s:e]
    if not KNOWN_FIELD.search(line):
        return
    inside = _bracketed(pairs, s, e)
    for m in KNOWN_FIELD.finditer(line):
        at = s + m.start()
        if at in inside or not (m.start() == 0 or line[: m.start()].rstrip()[-1:] in "。;"):
            continue
        stop = min((n for n in notes if at < n < e), default=e)
        for f in FIELD.finditer(line, m.start(), stop - s):
            if f.group("key") not in ROLE:
                stop = s + f.start()
                break
        while stop > at and text[stop - 1] in " ;；,，、\u3000":
            stop -= 1
        note = parse_fields(text[at:stop])
        yield _at(note, at, stop)
        return


def _bracketed(pairs: dict[int, int], s: int, e: int) -> set[int]:
    inside: set[int] = set()
    for a, b in pairs.items():
        if s <= a < e:
            inside.update(range(a, b + 1))
    return inside


def _at(note: Annotation, start: int, end: int) -> Annotation:
    return replace(note, start=start, end=end)


LABELS = {"lead": "牵头单位", "participants": "参与单位", "deadline": "完成时限"}


def duty_text(duty) -> str:
    """Who does it, as an answer: the lead alone, or every role labelled (``Responsibility`` or
    ``Annotation``); "" when the annotation names nobody (a deadline alone).

    >>> duty_text(Annotation(0, 0, ("甲局",)))
    '甲局'
    >>> duty_text(Annotation(0, 0, ("甲局",), ("乙局", "丙局"), "年底", (("指导部门", "丁部"),)))
    '牵头单位：甲局；参与单位：乙局、丙局；指导部门：丁部；完成时限：年底'
    """
    if not (duty.lead or duty.participants or duty.other):
        return ""
    if duty.lead and not (duty.participants or duty.other or duty.deadline):
        return "、".join(duty.lead)
    groups: dict[str, list[str]] = {}
    for label, units in ((LABELS["lead"], duty.lead), (LABELS["participants"], duty.participants)):
        if units:
            groups[label] = list(units)
    for name, unit in duty.other:
        groups.setdefault(name, []).append(unit)
    if duty.deadline:
        groups[LABELS["deadline"]] = [duty.deadline]
    return "；".join(f"{label}：{'、'.join(units)}" for label, units in groups.items())
