"""Detection: find PII, PHI, financial data, credentials and internal addresses in text.

This package owns the detectors and the one-pass scanning engine. It returns spans
(class, start, end, score) and never the matched text; it must never log, keep or send
what it scans, and never download anything at run time (name lists ship in ``data/``).
What to do about a finding is ``tutela.redaction``'s job.
"""

from tutela.detectors.edm import EdmMatcher, build_edm_file
from tutela.detectors.engines import HYPERSCAN_ERROR, hyperscan_available
from tutela.detectors.registry import Detector
from tutela.detectors.scanner import (
    CustomDetector,
    KeywordList,
    Scanner,
    ScannerConfig,
    class_enabled,
)
from tutela.detectors.spans import Span
from tutela.detectors.validators import VALIDATORS

__all__ = [
    "HYPERSCAN_ERROR",
    "VALIDATORS",
    "CustomDetector",
    "Detector",
    "EdmMatcher",
    "KeywordList",
    "Scanner",
    "ScannerConfig",
    "Span",
    "build_edm_file",
    "class_enabled",
    "hyperscan_available",
]
