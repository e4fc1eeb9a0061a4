"""Context cues: detector back-ends (one module each) and the cue providers built on them.

Importing this package registers the back-ends in ``DETECTORS`` (cheap: no heavy imports);
``geoprivacy.cues.providers`` registers the cue providers in ``geoprivacy.context.CUE_PROVIDERS``.
"""

# Each back-end module registers itself in DETECTORS when imported.
from geoprivacy.cues import clip_scene, faces, plates, scene, ssdlite, text, yolo  # noqa: F401
from geoprivacy.cues.base import DETECTORS, Detection, Detector

__all__ = ["DETECTORS", "Detection", "Detector"]
