"""Filling a flowdoc form as another program does (pikepdf setting the fields' values),
for the tests that read filled forms back."""

from __future__ import annotations

import io

import pikepdf


def fill_with_pikepdf(data: bytes, values: dict[str, str], drop_appearances: bool = False) -> bytes:
    with pikepdf.open(io.BytesIO(data)) as pdf:
        for field in pdf.Root.AcroForm.Fields:
            stack = [(field, str(field.T))]
            while stack:
                node, name = stack.pop()
                if "/Kids" in node:
                    stack += [(kid, f"{name}.{kid.T}") for kid in node.Kids]
                    continue
                if name in values:
                    node.V = pikepdf.String(values[name])
                if drop_appearances and "/AP" in node:
                    del node["/AP"]
        if drop_appearances:  # as a reader that redraws every field does
            pdf.Root.AcroForm.NeedAppearances = True
        out = io.BytesIO()
        pdf.save(out)
        return out.getvalue()
