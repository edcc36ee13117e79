"""Stage 3: ``ClauseTree`` → token-bounded ``Chunk``s that can cite themselves.

A chunk is one clause (with its sub-clauses) when it fits in ``max_tokens``; otherwise the clause's
own text and its children are chunked separately, consecutive *small* siblings (each under
``merge_below`` tokens) are packed together, and text that still does not fit is split at sentence
ends with one sentence of overlap. Tokens are cl100k_base tokens of the display text.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rag.clauses import bare_heading
from rag.types import PATH_SEP, Chunk, Clause, ClauseTree
from rag.zh import fold, sentence_spans

CountTokens = Callable[[str], int]


@dataclass(frozen=True)
class _Piece:
    start: int
    end: int
    path: str
    anchor: Clause | None  # the clause whose attachment title names the chunk


def passage_text(chunk: Chunk) -> str:
    """What gets embedded and BM25-indexed: title + clause path + text, folded.

    A bare item ("16.医保跨省结算。…") keeps the context its headings give it.
    """
    return fold(f"{chunk.title} {chunk.clause_path}\n{chunk.text}")


def chunk_tree(
    tree: ClauseTree, count_tokens: CountTokens, max_tokens: int = 256, merge_below: int = 48
) -> list[Chunk]:
    """Chunks of one document, in document order."""
    if max_tokens < 8:
        raise ValueError("max_tokens must be at least 8")
    return _Chunker(tree, count_tokens, max_tokens, merge_below).run()


class _Chunker:
    def __init__(self, tree: ClauseTree, count: CountTokens, max_tokens: int, merge_below: int):
        self.tree, self.text, self.count = tree, tree.doc.text, count
        self.max, self.merge_below = max_tokens, merge_below
        self.children: dict[int | None, list[Clause]] = {}
        for c in tree.clauses:
            self.children.setdefault(c.parent, []).append(c)

    def run(self) -> list[Chunk]:
        roots = self.children.get(None, [])
        preamble_end = roots[0].start if roots else len(self.text)
        preamble = sentence_spans(self.text, 0, preamble_end)
        pieces = self._windows(preamble, "", None) + self._siblings(roots, None)
        return [self._chunk(i, p) for i, p in enumerate(pieces)]

    def _tokens(self, start: int, end: int) -> int:
        return self.count(self.text[start:end])

    def _clause(self, clause: Clause) -> list[_Piece]:
        if self._tokens(clause.start, clause.end) <= self.max:
            return [_Piece(clause.start, clause.end, clause.path_text, clause)]
        kids = self.children.get(clause.index, [])
        spans = sentence_spans(self.text, clause.start, kids[0].start if kids else clause.end)
        if spans and (kids or len(spans) > 1) and self._bare_heading(clause, *spans[0]):
            spans = spans[1:]  # the following chunks' paths already name it
        return self._windows(spans, clause.path_text, clause) + self._siblings(kids, clause)

    def _bare_heading(self, clause: Clause, start: int, end: int) -> bool:
        """Is this span only the clause's number and title ("(一)加强组织领导。")?"""
        return bare_heading(self.text, clause, start, end)

    def _siblings(self, kids: list[Clause], parent: Clause | None) -> list[_Piece]:
        pieces: list[_Piece] = []
        run: list[Clause] = []

        def flush() -> None:
            if run:
                pieces.append(self._run_piece(run, parent))
                run.clear()

        for kid in kids:
            size = self._tokens(kid.start, kid.end)
            if size < self.merge_below:
                if run and self._tokens(run[0].start, kid.end) > self.max:
                    flush()
                run.append(kid)
            else:
                flush()
                pieces.extend(self._clause(kid))
        flush()
        return pieces

    def _run_piece(self, run: list[Clause], parent: Clause | None) -> _Piece:
        first, last = run[0], run[-1]
        if len(run) == 1:
            return _Piece(first.start, first.end, first.path_text, first)
        path = parent.path_text if parent else ""
        if first.label and last.label:
            path = f"{path}{PATH_SEP if path else ''}{first.label}–{last.label}"
        return _Piece(first.start, last.end, path, first)

    def _windows(self, sentences: list[tuple[int, int]], path: str, anchor: Clause | None):
        """Windows of whole sentences within the limit, each starting with the previous one's
        last sentence when that still fits."""
        spans = [s for a, b in sentences for s in self._fit(a, b)]
        pieces: list[_Piece] = []
        i = 0
        while i < len(spans):
            j = i + 1
            while j < len(spans) and self._tokens(spans[i][0], spans[j][1]) <= self.max:
                j += 1
            pieces.append(_Piece(spans[i][0], spans[j - 1][1], path, anchor))
            if j >= len(spans):
                break
            overlap = j - 1
            fits = overlap > i and self._tokens(spans[overlap][0], spans[j][1]) <= self.max
            i = overlap if fits else j
        return pieces

    def _fit(self, start: int, end: int) -> list[tuple[int, int]]:
        """A sentence longer than the limit is cut into the longest prefixes that fit."""
        out = []
        while self._tokens(start, end) > self.max:
            lo, hi = start + 1, end
            while lo < hi:  # longest prefix within the limit
                mid = (lo + hi + 1) // 2
                if self._tokens(start, mid) <= self.max:
                    lo = mid
                else:
                    hi = mid - 1
            out.append((start, lo))
            start = lo
        out.append((start, end))
        return out

    def _chunk(self, n: int, piece: _Piece) -> Chunk:
        doc = self.tree.doc
        return Chunk(
            chunk_id=f"{doc.doc_id}#{n}",
            doc_id=doc.doc_id,
            title=self._title(piece.anchor),
            clause_path=piece.path,
            start=piece.start,
            end=piece.end,
            text=self.text[piece.start : piece.end],
            units=self.tree.responsibilities_in(piece.start, piece.end),
            token_count=self._tokens(piece.start, piece.end),
        )

    def _title(self, clause: Clause | None) -> str:
        """Inside 附件N the attachment's own title names the passage, else the document's."""
        while clause is not None:
            if clause.kind == "附件" and clause.title:
                return clause.title
            clause = self.tree.clauses[clause.parent] if clause.parent is not None else None
        return self.tree.doc.title
