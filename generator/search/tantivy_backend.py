"""The optional backend for large archives: tantivy (Rust, as a pip wheel; no server).

``pip install 'flowdoc[tantivy]'``. Text arrives pre-analysed (space-separated bigrams and
units) and is indexed with tantivy's whitespace tokenizer: its own n-gram tokenizer puts every
token at position 0, which would make phrases, and so substring matches, inexact.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import FlowdocError
from .analysis import term_parts
from .documents import FACETS, KEYWORDS, META
from .query import And, DateRange, Everything, Keyword, Node, Not, Or, Text


def _tantivy():
    try:
        import tantivy
    except ImportError:
        raise FlowdocError("the tantivy backend is not installed: pip install 'flowdoc[tantivy]'") \
            from None
    return tantivy


def schema():
    t = _tantivy()
    b = t.SchemaBuilder()
    for name in ("number", "kind", "flow", "status", *KEYWORDS):
        b.add_text_field(name, tokenizer_name="raw", index_option="basic")
    b.add_integer_field("created", indexed=True)
    b.add_integer_field("order", fast=True)
    b.add_integer_field("signed", indexed=True)
    b.add_text_field("units", tokenizer_name="whitespace", index_option="basic")
    b.add_text_field("grams", tokenizer_name="whitespace", index_option="basic")
    b.add_text_field("tris", tokenizer_name="whitespace", index_option="position")
    b.add_bytes_field("data", stored=True, indexed=False)
    return b.build()


_REGEX_META = set(r"\.+*?()|[]{}^$#&-~")


def translate(node: Node, sch) -> Any:
    t = _tantivy()
    Q, must, must_not = t.Query, t.Occur.Must, t.Occur.MustNot
    if isinstance(node, Everything):
        return Q.term_query(sch, "kind", "record")  # every record, not the meta document
    if isinstance(node, Text):
        parts = [Q.term_query(sch, field, p[0]) if len(p) == 1 else Q.phrase_query(sch, field, p)
                 for field, p in term_parts(node.term)]
        return parts[0] if len(parts) == 1 else Q.boolean_query([(must, p) for p in parts])
    if isinstance(node, Keyword):
        if node.prefix:
            pattern = "".join("\\" + c if c in _REGEX_META else c for c in node.value) + ".*"
            return Q.regex_query(sch, node.field, pattern)
        return Q.term_query(sch, node.field, node.value)
    if isinstance(node, DateRange):
        return Q.range_query(sch, node.field, t.FieldType.Integer, node.low, node.high,
                             use_inverted_index=node.field == "signed")
    if isinstance(node, Not):
        return Q.boolean_query([(must, Q.term_query(sch, "kind", "record")),
                                (must_not, translate(node.part, sch))])
    if isinstance(node, And):
        if all(isinstance(p, Not) for p in node.parts):
            return Q.boolean_query([(must, translate(p, sch)) for p in node.parts])
        return Q.boolean_query([(must_not, translate(p.part, sch)) if isinstance(p, Not)
                                else (must, translate(p, sch)) for p in node.parts])
    if isinstance(node, Or):
        return Q.boolean_query([(t.Occur.Should, translate(p, sch)) for p in node.parts])
    raise TypeError(node)


class TantivyBackend:
    name = "tantivy"

    def __init__(self, folder: Path) -> None:
        t = _tantivy()
        folder.mkdir(parents=True, exist_ok=True)
        self.schema = schema()
        self.ix = t.Index(self.schema, path=str(folder))

    def _one(self, number: str) -> dict[str, Any] | None:
        t = _tantivy()
        s = self.ix.searcher()
        found = s.search(t.Query.term_query(self.schema, "number", number), 1).hits
        if not found:
            return None
        return json.loads(bytes(s.doc(found[0][1])["data"][0]))

    def meta(self) -> dict[str, Any] | None:
        return self._one(META)

    def stored(self, numbers: list[str]) -> dict[str, dict[str, Any]]:
        out = {}
        for n in numbers:
            found = self._one(n)
            if found is not None:
                out[n] = found
        return out

    def write(self, docs: list[dict[str, Any]], meta: dict[str, Any], fresh: bool = False) -> None:
        """Replace the documents by number and record ``meta`` in one commit."""
        t = _tantivy()
        big = len(docs) > 1000  # a rebuild gets both cores and a large buffer; one record, neither
        writer = self.ix.writer(heap_size=(256 if big else 32) * 2**20, num_threads=2 if big else 1)
        try:
            for d in docs:
                if not fresh:
                    writer.delete_documents_by_term("number", d["number"])
                doc = t.Document(number=d["number"], kind="record", flow=d["flow"],
                                 status=d["status"], created=d["created"], order=d["order"], units=d["units"],
                                 grams=d["grams"], tris=d["tris"])
                for k in KEYWORDS:
                    for v in d[k]:
                        doc.add_text(k, v)
                for v in d["signed"]:
                    doc.add_integer("signed", v)
                doc.add_bytes("data", json.dumps(d["stored"], ensure_ascii=False).encode())
                writer.add_document(doc)
            writer.delete_documents_by_term("number", META)
            m = t.Document(number=META, kind="meta")
            m.add_bytes("data", json.dumps(meta).encode())
            writer.add_document(m)
            writer.commit()
            writer.wait_merging_threads()
        except BaseException:
            writer.rollback()
            raise
        self.ix.reload()

    def optimize(self) -> None:
        pass

    def search(self, node: Node, limit: int, offset: int, newest_first: bool
               ) -> tuple[int, list[dict[str, Any]]]:
        t = _tantivy()
        s = self.ix.searcher()
        # tantivy allocates room for offset + limit hits up front: never more than it holds
        offset = min(offset, s.num_docs)
        limit = max(1, min(limit, s.num_docs - offset))
        result = s.search(translate(node, self.schema), limit, count=True, order_by_field="order",
                          offset=offset, order=t.Order.Desc if newest_first else t.Order.Asc)
        hits = [json.loads(bytes(s.doc(addr)["data"][0])) for _, addr in result.hits]
        return result.count, hits

    def facets(self, node: Node) -> dict[str, dict[Any, int]]:
        """As the whoosh backend's: the index's terms of each field counted over the matches
        (tantivy's term walk with the query as its filter), creation days by the months
        between the first and the last match (one count a month)."""
        t = _tantivy()
        s = self.ix.searcher()
        query = translate(node, self.schema)
        out: dict[str, dict[Any, int]] = {
            f: {v: n for v, n in s.terms_with_prefix(f, "", filter_query=query) if v and n}
            for f in FACETS if f != "created"}
        out["created"] = {}
        if not s.search(query, 1, count=True).count:
            return out
        ends = [s.search(query, 1, order_by_field="order", order=o).hits[0][1]
                for o in (t.Order.Asc, t.Order.Desc)]
        first, last = (json.loads(bytes(s.doc(a)["data"][0]))["created"] for a in ends)
        year, month = int(first[:4]), int(first[5:7])
        while (year, month) <= (int(last[:4]), int(last[5:7])):
            low = year * 10000 + month * 100
            days = t.Query.range_query(self.schema, "created", t.FieldType.Integer, low + 1,
                                       low + 31)
            n = s.search(t.Query.boolean_query([(t.Occur.Must, query), (t.Occur.Must, days)]),
                         1, count=True).count
            if n:
                out["created"][low + 1] = n  # the month's first day stands for the month
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return out

    def close(self) -> None:
        pass
