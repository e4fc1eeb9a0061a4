"""`protect`: pixel defenses for photos and videos, with privacy/utility/quality verification."""
