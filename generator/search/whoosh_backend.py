"""The default backend: Whoosh (pure Python, the maintained whoosh-reloaded fork).

Every field is pre-analysed by :mod:`.analysis`, so the schema uses only Whoosh's stock
space-separated tokenizer: no custom analyser has to be importable when Whoosh unpickles the
schema, and Whoosh and tantivy index the same tokens.
"""

from __future__ import annotations

import heapq
import itertools
import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

from whoosh import fields, index
from whoosh import query as wq
from whoosh.analysis import SpaceSeparatedTokenizer

from .analysis import term_parts
from .documents import FACETS, KEYWORDS, META
from .query import And, DateRange, Everything, Keyword, Node, Not, Or, Text


def schema() -> fields.Schema:
    tokens = SpaceSeparatedTokenizer()
    return fields.Schema(
        number=fields.ID(unique=True), kind=fields.ID, flow=fields.ID, status=fields.ID,
        created=fields.NUMERIC(int, bits=32),
        order=fields.NUMERIC(int, bits=64, sortable=True), signed=fields.NUMERIC(int, bits=32),
        units=fields.TEXT(analyzer=tokens, phrase=False), grams=fields.TEXT(analyzer=tokens, phrase=False),
        tris=fields.TEXT(analyzer=tokens, phrase=True),
        data=fields.STORED,
        **{k: fields.KEYWORD(commas=True) for k in KEYWORDS})


def translate(node: Node) -> wq.Query:
    if isinstance(node, Everything):
        return wq.Term("kind", "record")  # every record, and not the index's own meta document
    if isinstance(node, Text):
        parts = [wq.Term(field, p[0]) if len(p) == 1 else wq.Phrase(field, p)
                 for field, p in term_parts(node.term)]
        return parts[0] if len(parts) == 1 else wq.And(parts)
    if isinstance(node, Keyword):
        if node.prefix:
            return wq.Prefix(node.field, node.value)
        return wq.Term(node.field, node.value)
    if isinstance(node, DateRange):
        return wq.NumericRange(node.field, node.low, node.high)
    if isinstance(node, Not):
        return wq.And([wq.Term("kind", "record"), wq.Not(translate(node.part))])
    if isinstance(node, And):
        positive = [translate(p) for p in node.parts if not isinstance(p, Not)]
        negative = [wq.Not(translate(p.part)) for p in node.parts if isinstance(p, Not)]
        if not positive:
            return wq.And([translate(p) for p in node.parts])
        # "A -B" as A and not B, without a detour through every record. Not wq.AndNot: its
        # matcher keeps a document that the excluded term's first posting should remove
        # (seen at docnum 2 against tantivy in the bench)
        return wq.And(positive + negative) if len(positive) + len(negative) > 1 else positive[0]
    if isinstance(node, Or):
        return wq.Or([translate(p) for p in node.parts])
    raise TypeError(node)


class WhooshBackend:
    name = "whoosh"

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._open, self._generation = None, -1
        # each document's facet values and order, per segment (segments never change but for
        # deletions, which a match leaves out anyway) and joined for the open searcher
        self._segments: dict[str, dict[str, list]] = {}
        self._values: dict[str, list] | None = None
        self._last: tuple[Any, list[int]] | None = None  # the last query's matches
        if index.exists_in(folder):
            self.ix = index.open_dir(folder)
        else:
            folder.mkdir(parents=True, exist_ok=True)
            self.ix = index.create_in(folder, schema())

    def _searcher(self):
        """One searcher kept open: opening reads every segment's term index, which costs more
        than most queries. It is reopened after a commit. Not with ``Searcher.refresh``: that
        reuses the old segment readers and so still shows documents the commit deleted."""
        generation = self.ix.latest_generation()
        if self._open is not None and self._generation != generation:
            self._open.close()
            self._open = None
        if self._open is None:
            self._open, self._generation = self.ix.searcher(), generation
            self._values = self._last = None
        return self._open

    def _columns(self) -> dict[str, list]:
        """For the open searcher: each document's facet values (a tuple for a keyword field)
        and its order, by document number. Made from arrays kept per segment, so a commit
        costs the reading of its new segments only."""
        searcher = self._searcher()
        if self._values is None:
            values: dict[str, list] = {f: [] for f in (*FACETS, "order")}
            kept = {}
            for reader, base in searcher.reader().leaf_readers():
                sid = reader.segment().segment_id()
                arrays = self._segments.get(sid) or _segment_values(reader)
                kept[sid] = arrays
                for f, column in values.items():
                    assert len(column) == base
                    column.extend(arrays[f])
            self._segments, self._values = kept, values
        return self._values

    def _matches(self, node: Node) -> list[int]:
        """The document numbers of the live documents ``node`` matches (the last query's kept:
        a page asks for its hits and then its facets)."""
        searcher = self._searcher()
        q = translate(node)
        if self._last is None or self._last[0] != q:
            self._last = (q, list(searcher.docs_for_query(q)))
        return self._last[1]

    def meta(self) -> dict[str, Any] | None:
        found = self._searcher().document(number=META)
        return json.loads(found["data"]) if found else None

    def stored(self, numbers: list[str]) -> dict[str, dict[str, Any]]:
        s = self._searcher()
        out = {}
        for n in numbers:
            found = s.document(number=n)
            if found:
                out[n] = json.loads(found["data"])
        return out

    def write(self, docs: list[dict[str, Any]], meta: dict[str, Any], fresh: bool = False) -> None:
        """Replace the documents by number and record ``meta`` in the same commit, so the index
        never claims entries it does not hold. ``fresh``: an empty index, no deletes needed."""
        if fresh and len(docs) > 5000:  # a rebuild: one writer process a core, one segment each
            writer = self.ix.writer(limitmb=256, procs=os.cpu_count() or 1, multisegment=True,
                                    compound=False)
        else:
            writer = self.ix.writer(timeout=10.0, limitmb=256, compound=False)
        add = writer.add_document if fresh else writer.update_document
        try:
            for d in docs:
                add(number=d["number"], kind="record", flow=d["flow"], status=d["status"],
                    created=d["created"], order=d["order"], signed=d["signed"], units=d["units"],
                    grams=d["grams"], tris=d["tris"],
                    data=json.dumps(d["stored"], ensure_ascii=False),
                    **{k: ",".join(d[k]) for k in KEYWORDS})
            writer.update_document(number=META, kind="meta", data=json.dumps(meta))
            writer.commit(merge=not fresh)
        except BaseException:
            writer.cancel()
            raise

    def optimize(self) -> None:
        self.ix.optimize()

    def search(self, node: Node, limit: int, offset: int, newest_first: bool
               ) -> tuple[int, list[dict[str, Any]]]:
        """The matches' count and the stored records of ``limit`` of them from ``offset``,
        newest (highest order) first or oldest first: the top ones picked by the order column
        (whoosh's sorting collector scores and sorts every match in Python)."""
        docs = self._matches(node)
        order = self._columns()["order"]
        pick = heapq.nlargest if newest_first else heapq.nsmallest
        top = pick(offset + limit, docs, key=order.__getitem__)[offset:offset + limit]
        searcher = self._searcher()
        return len(docs), [json.loads(searcher.stored_fields(d)["data"]) for d in top]

    def facets(self, node: Node) -> dict[str, dict[Any, int]]:
        """How many of the records ``node`` matches have each flow, status, department, signer
        and creation day: the matches' values counted from the columns."""
        docs = self._matches(node)
        columns = self._columns()
        out = {}
        for f in FACETS:
            column = columns[f]
            values = map(column.__getitem__, docs)  # all in C: no Python frame a match
            counts = Counter(itertools.chain.from_iterable(values) if f in KEYWORDS else values)
            out[f] = {k: n for k, n in counts.items() if k not in ("", None)}
        return out

    def close(self) -> None:
        if self._open is not None:
            self._open.close()
            self._open = None
        self.ix.close()


def _segment_values(reader) -> dict[str, list]:
    """Each document's values of the facet fields and its order in one segment, read from
    the terms' postings (a keyword field's values as a tuple)."""
    n = reader.doc_count_all()
    out: dict[str, list] = {}
    for f in (*FACETS, "order"):
        field = reader.schema[f]
        multi = f in KEYWORDS
        column: list = [() if multi else None] * n
        for token in field.sortable_terms(reader, f):
            value = field.from_bytes(token)
            for d in reader.postings(f, token).all_ids():
                column[d] = column[d] + (value,) if multi else value
        out[f] = column
    return out
