"""geoprivacy: find and remove what photos and videos reveal about where they were taken.

Importing this package is cheap: no torch, no model, no media library is imported here.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
