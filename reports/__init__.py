"""Report writers: one module per format, each ``write(stream, report, options)``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, TextIO

from geoprivacy.registry import Plugin, Registry
from geoprivacy.report import RunReport


@dataclass(frozen=True)
class WriteOptions:
    """How a writer renders a report."""

    redact: bool = False      # hide coordinates
    color: bool = False       # a terminal that shows colour and tables
    verbose: bool = False
    quiet: bool = False
    thumbnails: bool = False  # html: embed (blurred unless coordinates are shown) thumbnails


Writer = Callable[[TextIO, RunReport, WriteOptions], None]

WRITERS: Registry[Writer] = Registry("report format")


def _lazy(module: str) -> Callable[[], Writer]:
    def load() -> Writer:
        import importlib
        return importlib.import_module(f"geoprivacy.reports.{module}").write  # type: ignore[no-any-return]
    return load


WRITERS.register(Plugin("json", "the documented JSON report", _lazy("json_report")))
WRITERS.register(Plugin("table", "a table on a terminal, plain lines otherwise", _lazy("table")))
WRITERS.register(Plugin("sarif", "SARIF 2.1.0 for code-scanning dashboards", _lazy("sarif")))
WRITERS.register(Plugin("junit", "JUnit XML: one testcase per file", _lazy("junit")))
WRITERS.register(Plugin("html", "one self-contained HTML page with plots", _lazy("html")))
