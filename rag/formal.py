"""The formal wording of a question asked in Hong Kong colloquial terms.

Policy texts name things formally (行政長官, 多少); people asking about Hong Kong use the common
names (特首) and written Cantonese (幾多, 幾耐, 邊個, 係咩, 嘅). ``formal`` rewrites those, so
retrieval, the question's intent and the answer checks see the words the documents use. It runs
on the question only (documents are never rewritten), so it may change lengths.

>>> formal("當特首要住滿幾多年？")
'當行政長官要住滿多少年？'
>>> formal("邊個部門負責？"), formal("身邊個別人")
('哪個部門負責？', '身邊個別人')
>>> formal("特首係由邊個任命嘅？"), formal("區旗係咩圖案？"), formal("兩者的關係是甚麼")
('行政長官是由誰任命的？', '區旗是甚麼圖案？', '兩者的關係是甚麼')
"""

from __future__ import annotations

import re

from rag.zh import fold

# (colloquial, formal): general Hong Kong usage and written Cantonese, not one document's words
TERMS: tuple[tuple[str, str], ...] = (
    ("特首", "行政長官"),
    ("港府", "香港特別行政區政府"),
    ("香港特區", "香港特別行政區"),  # not 經濟特區 (a special economic zone)
    ("澳門特區", "澳門特別行政區"),
    ("廉署", "廉政公署"),
    ("幾多", "多少"),
    ("幾耐", "多久"),
    ("幾時", "何時"),
    ("點樣", "怎樣"),
    ("點解", "為甚麼"),
    ("乜嘢", "甚麼"),
    ("咩", "甚麼"),
    ("係咪", "是否"),
    ("邊度", "哪裡"),
    ("邊間", "哪個"),
    ("嘅", "的"),
    ("唔", "不"),
    ("冇", "沒有"),
    ("佢", "他"),
)
# 邊個 is 誰, or 哪個 before a noun of who; not the 邊 of 旁邊/身邊 (身邊個別人)
WHO_NOUN = "部門|單位|機構|機關|政府|官員|法院|人員"
SIDE = "旁身周两兩这這那左右外裡里上下東东西南北前後后手岸路"  # X邊: a side, not 邊個 (who)
_WHO = re.compile(rf"(?<![{SIDE}])(?:邊個|边个)(?![别別])")
_TERMS = [(re.compile("|".join({re.escape(c), re.escape(fold(c))})), f) for c, f in TERMS]
# 係 as the Cantonese copula (係由邊個, 係甚麼), not the 係 of 關係/聯係 (t2s reads it as 系)
_IS = re.compile(r"(?<![關联聯維维體体派世])係(?=由|甚麼|什麼|甚么|什么|多少|何時|誰|哪|不|否|指)")


def formal(question: str) -> str:
    """The question with colloquial Hong Kong names and question words in their formal form."""
    for pattern, standard in _TERMS:
        question = pattern.sub(standard, question)
    return _IS.sub("是", _WHO.sub(_who, question))


def _who(m: re.Match[str]) -> str:
    after = fold(m.string[m.end() : m.end() + 2])
    return "哪個" if re.match(fold(WHO_NOUN), after) else "誰"
