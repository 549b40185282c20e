"""The default backend: Whoosh (pure Python, the maintained whoosh-reloaded fork).

Every field is pre-analysed by :mod:`.analysis`, so the schema uses only Whoosh's stock
space-separated tokenizer: no custom analyser has to be importable when Whoosh unpickles the
schema, and Whoosh and tantivy index the same tokens.
"""

from __future__ import annotations

import json
import os
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
        return self._open

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
        searcher = self._searcher()
        offset = min(offset, searcher.doc_count())  # as tantivy: no room for hits that cannot be
        limit = max(1, min(limit, searcher.doc_count() - offset))
        results = searcher.search(translate(node), limit=offset + limit, sortedby="order",
                                  reverse=newest_first)
        return len(results), [json.loads(h["data"]) for h in results[offset:offset + limit]]

    def facets(self, node: Node) -> dict[str, dict[Any, int]]:
        """How many of the records ``node`` matches have each flow, status, department, signer
        and creation day (one pass over the matches: whoosh's grouping)."""
        from whoosh import sorting

        groups = {f: sorting.FieldFacet(f, allow_overlap=f in KEYWORDS) for f in FACETS}
        results = self._searcher().search(translate(node), limit=None, groupedby=groups,
                                          maptype=sorting.Count, scored=False)
        return {f: {k: n for k, n in results.groups(f).items() if k not in ("", None)}
                for f in FACETS}

    def close(self) -> None:
        if self._open is not None:
            self._open.close()
            self._open = None
        self.ix.close()
