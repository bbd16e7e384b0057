"""The text layer of a base64 PDF ``document`` block, for injection scanning.

Claude reads a PDF's text as well as its pages' images, so an instruction planted in a
PDF (white on white, in a footer, in a form field) reaches the model like one in a text
document. The text is extracted with ``pypdf`` and scanned as the document's text. Work
is bounded: ``MAX_BYTES`` of PDF, the first ``MAX_PAGES`` pages, ``MAX_CHARS`` of text.
A PDF that cannot be read (malformed, encrypted with a password) gives ``None``, and the
guard says so in the audit trail; a PDF with no text layer (scanned images) gives "".
"""

from __future__ import annotations

import base64
import binascii
import io
import logging

__all__ = ["MAX_BYTES", "MAX_CHARS", "MAX_PAGES", "is_pdf_source", "pdf_text"]

MAX_BYTES = 32 << 20  # the Messages API's own limit on a whole request
MAX_PAGES = 100
MAX_CHARS = 500_000

# pypdf warns through logging about every odd object of a damaged file: noise, and it can
# quote pieces of the document. Keep only its errors.
logging.getLogger("pypdf").setLevel(logging.ERROR)


def is_pdf_source(source: object) -> bool:
    """Whether a document block's ``source`` is a base64 PDF."""
    return (
        isinstance(source, dict)
        and source.get("type") == "base64"
        and source.get("media_type") == "application/pdf"
        and isinstance(source.get("data"), str)
    )


def pdf_text(data: str) -> str | None:
    """The text of the first ``MAX_PAGES`` pages of base64 PDF ``data``, page by page, cut
    at ``MAX_CHARS``; None when it is not a PDF that can be read."""
    from pypdf import PdfReader  # imported on first use: most requests carry no PDF
    from pypdf.errors import PyPdfError

    if len(data) > MAX_BYTES * 4 // 3 + 4:
        return None
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return None
    if not raw.startswith(b"%PDF-"):
        return None
    pages: list[str] = []
    size = 0
    try:
        reader = PdfReader(io.BytesIO(raw))
        if reader.is_encrypted and not reader.decrypt(""):
            return None  # a password we do not have: Claude cannot read it either
        for page in reader.pages[:MAX_PAGES]:
            text = page.extract_text() or ""
            pages.append(text)
            size += len(text)
            if size >= MAX_CHARS:
                break
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, RecursionError):
        # pypdf raises more than its own errors on damaged files.
        return None
    return "\n\n".join(pages)[:MAX_CHARS]
