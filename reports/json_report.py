"""The JSON report (schema: geoprivacy/schemas/report.schema.json)."""

from __future__ import annotations

import json
from typing import TextIO

from geoprivacy.report import RunReport
from geoprivacy.reports import WriteOptions


def write(stream: TextIO, report: RunReport, options: WriteOptions) -> None:
    json.dump(report.to_dict(redact=options.redact), stream, indent=2, ensure_ascii=False,
              sort_keys=False)
    stream.write("\n")
