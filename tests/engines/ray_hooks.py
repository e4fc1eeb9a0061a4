"""Run in every Ray worker of the test cluster (``worker_process_setup_hook``): registers the
test cue provider there too, as an installed detector package would via its entry point."""

from __future__ import annotations

from typing import Any

MARKER_POLICY = """\
version: 1
defaults: {public: exact, internal: exact, research: exact}
rules:
  - id: marker
    description: files a provider marks allow at most the country
    when: {test_marker: present}
    allow: country
"""


class MarkerProvider:
    """Marks every file with a location as present."""

    name = "test-marker"
    version = "1"
    cues = ("test_marker",)

    def provide(self, item: Any, evidence: Any) -> dict[str, Any]:
        from geoprivacy.context import stated
        return {"test_marker": stated("test_marker", "present", self.name)}


def register() -> None:
    from geoprivacy.context import CUE_PROVIDERS
    from geoprivacy.registry import Plugin
    if "test_marker" not in CUE_PROVIDERS._plugins:
        CUE_PROVIDERS._plugins["test_marker"] = Plugin("test_marker", "test", MarkerProvider)
