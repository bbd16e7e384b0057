#!/usr/bin/env python3
"""What a PDF document costs the injection guard: reading its text layer, then scanning.

For each PDF given (default: the PDFs Debian's documentation packages put under
``/usr/share/doc``), side by side, CPU time per request:

- **as text**: the baseline, the same extracted text sent as a text document;
- **first sight**: the PDF as a base64 ``document`` block seen for the first time (decode,
  extract with pypdf, analyse);
- **replayed**: the same block on a later turn of the conversation (a digest of the data,
  then the cached verdict).

    .venv/bin/python bench/injection_pdf.py
    .venv/bin/python bench/injection_pdf.py path/to/a.pdf --repeat 5
"""

from __future__ import annotations

import argparse
import base64
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from pypdf import PdfReader

from tutela.injection.detector import Detector
from tutela.injection.pdf import MAX_PAGES, pdf_text


def _cpu(call: Callable[[], object], repeat: int) -> float:
    """Median CPU milliseconds of ``repeat`` calls."""
    times = []
    for _ in range(repeat):
        started = time.process_time()
        call()
        times.append(time.process_time() - started)
    return statistics.median(times) * 1000


def measure(detector: Detector, path: Path, repeat: int) -> str:
    data = base64.b64encode(path.read_bytes()).decode()
    text = pdf_text(data)
    if text is None:
        return f"{path.name[:40]:40} unreadable"
    as_text = _cpu(lambda: detector.analyse_uncached(text), repeat)
    # What a cache miss does: read the text layer, then analyse it.
    first = _cpu(lambda: detector.analyse_uncached(pdf_text(data) or ""), repeat)
    detector.analyse_pdf(data)
    replayed = _cpu(lambda: detector.analyse_pdf(data), max(repeat, 20))
    pages = len(PdfReader(path).pages)
    return (
        f"{path.name[:40]:40} {path.stat().st_size / 1024:6.0f} {pages:5d} {len(text):7d} "
        f"{as_text:8.1f}ms {first:8.1f}ms {first / as_text:5.1f}x {replayed:8.2f}ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("pdfs", nargs="*", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    paths = args.pdfs or sorted(Path("/usr/share/doc").rglob("*.pdf"))[:5]
    if not paths:
        sys.exit("no PDF given and none under /usr/share/doc")
    detector = Detector()
    print(
        f"{'file':40} {'KiB':>6} {'pages':>5} {'chars':>7} {'as text':>9} "
        f"{'first':>9} {'ratio':>6} {'replayed':>9}"
    )
    for path in paths:
        print(measure(detector, path, args.repeat))
    print(f"(pages read at most: {MAX_PAGES}; 'ratio' is first sight over the as-text baseline)")


if __name__ == "__main__":
    main()
