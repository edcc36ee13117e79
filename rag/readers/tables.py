"""Tables (HTML, Word) → text lines the clause parser understands.

The first row names the columns; every later row becomes one line of ``header：value`` fields.
Columns that name responsible units (牵头单位, 配合单位, …) become a trailing annotation
``（牵头单位：X；配合单位：Y）``, the shape ``rag.clauses`` reads as a responsibility, so a
任务分工 table answers “谁牵头…” like a numbered item would. A 序号 column numbers the line
(``3.``) so each row is an item of its own; a row whose cells all say the same thing (a
section row spanning the table) becomes a line of its own.

Readers expand merged cells first (rowspan/colspan → the value repeated), so every row has
one cell per column.
"""

from __future__ import annotations

import re

UNIT_COLUMN = re.compile(r"(牵头|责任|主办|配合|参与|协办|协助)(单位|部门|处室)")
NUMBER_COLUMN = re.compile(r"^(序号|编号|序次)$")
SPACE = re.compile(r"\s+")


def table_lines(rows: list[list[str]]) -> list[str]:
    """Lines for one table whose cells are already plain text.

    >>> head = ["序号", "任务", "牵头单位", "配合单位", "完成时限"]
    >>> for line in table_lines([head, ["一、医疗"] * 5, ["1", "签约", "卫健委", "各区", "年底"]]):
    ...     print(line)
    一、医疗
    1.任务：签约；完成时限：年底（牵头单位：卫健委；配合单位：各区）
    >>> table_lines([["姓名", "单位"]])
    ['姓名；单位']
    """
    rows = [[cell_text(c) for c in row] for row in rows]
    rows = [row for row in rows if any(row)]
    if len(rows) < 2:
        return ["；".join(_distinct(row)) for row in rows]
    header, out = rows[0], []
    for row in rows[1:]:
        values = _distinct(row)
        if len(values) == 1 and len(row) > 1:  # a section row spanning the whole table
            out.append(values[0])
            continue
        number, fields, units = "", [], []
        for name, value in zip(header, row, strict=False):
            if not value or value == name:
                continue
            if NUMBER_COLUMN.match(name) and value.isdigit():
                number = f"{value}."
            elif UNIT_COLUMN.search(name):
                units.append(f"{name}：{value}")
            else:
                fields.append(f"{name}：{value}" if name else value)
        line = number + "；".join(_distinct(fields))
        out.append(line + (f"（{'；'.join(units)}）" if units else ""))
    return out


def cell_text(text: str) -> str:
    """One cell's text on one line: inner line breaks and runs of spaces become one space
    between Latin words and nothing between Chinese characters.

    >>> cell_text("  市卫生\\n健康委 ")
    '市卫生健康委'
    """
    parts = [p for p in SPACE.split(text.strip()) if p]
    out = ""
    for part in parts:
        if out and out[-1].isascii() and part[0].isascii():
            out += " "
        out += part
    return out


def _distinct(values: list[str]) -> list[str]:
    """Non-empty values without repeats (merged cells repeat their value), in order."""
    return list(dict.fromkeys(v for v in values if v))
