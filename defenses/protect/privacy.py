"""Privacy before/after: does an attacker still locate the protected output?

Two attackers are asked: the metadata attacker (the output must carry no location at all) and,
when an index is given, the background-retrieval attacker on the sampled frames of the input
and of the decoded output. With ground truth (the input's own GPS, or ``--truth``) we report
accuracy within 1 and 25 km before and after; without it, whether the attacker's top-1 place
before protection is still its top-1 after.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from geoprivacy.geo import haversine_km

#: (lat, lon) predictions for a list of RGB frames, best first per frame.
Locator = Callable[[list[np.ndarray]], list[tuple[float, float]]]


def metadata_privacy(path: str) -> dict[str, Any]:
    """What the metadata attacker finds in ``path``."""
    from geoprivacy.attacks.metadata import MetadataAttacker
    from geoprivacy.audit import AuditOptions, audit_file

    result = audit_file(path, AuditOptions(attackers=[MetadataAttacker()]))
    places = [e for e in result.evidence if e.is_location]
    return {"checked": result.status == "ok", "locations": len(places),
            "where": sorted({e.where for e in places}),
            "first": ([places[0].lat, places[0].lon] if places and places[0].lat is not None
                      else None)}


def truth_from_metadata(before: dict[str, Any]) -> tuple[float, float] | None:
    first = before.get("first")
    return (float(first[0]), float(first[1])) if first else None


def retrieval_privacy(locate: Locator, originals: list[np.ndarray], protected: list[np.ndarray],
                      truth: tuple[float, float] | None,
                      same_place_km: float = 1.0) -> tuple[dict[str, Any], dict[str, Any]]:
    """Retrieval predictions on original vs protected frames, as before/after dicts."""
    before = locate(originals)
    after = locate(protected)
    out_before: dict[str, Any] = {"checked": True, "frames": len(before)}
    out_after: dict[str, Any] = {"checked": True, "frames": len(after)}
    if truth is not None:
        for label, preds, out in (("before", before, out_before), ("after", after, out_after)):
            errors = [haversine_km(lat, lon, truth[0], truth[1]) for lat, lon in preds]
            out["median_error_km"] = round(float(np.median(errors)), 3) if errors else None
            out["acc_1km"] = float(np.mean([e <= 1 for e in errors])) if errors else None
            out["acc_25km"] = float(np.mean([e <= 25 for e in errors])) if errors else None
        succeeds = bool(out_after["acc_25km"]) and out_after["acc_25km"] >= 0.5
        out_after["attacker_succeeds"] = succeeds
        out_after["summary"] = (f"retrieval within 25 km: {out_before['acc_25km']:.2f} -> "
                                f"{out_after['acc_25km']:.2f}")
        if succeeds:
            out_after["why"] = f"{out_after['acc_25km']:.0%} of frames still within 25 km"
    else:
        same = [haversine_km(a[0], a[1], b[0], b[1]) <= same_place_km
                for a, b in zip(before, after)]
        share = float(np.mean(same)) if same else 0.0
        out_after["same_top1_share"] = share
        out_after["attacker_succeeds"] = share >= 0.5
        out_after["summary"] = f"retrieval top-1 unchanged on {share:.0%} of frames"
        if share >= 0.5:
            out_after["why"] = f"top-1 place unchanged on {share:.0%} of frames"
    return out_before, out_after


def frame_locator(index_path: str, device: str = "auto") -> Locator:
    """The retrieval attacker as a Locator: each frame's own top-k vote."""
    from PIL import Image

    from geoprivacy.attacks.retrieval.attacker import RetrievalAttacker

    attacker = RetrievalAttacker(index_path, device=device)

    def locate(frames: list[np.ndarray]) -> list[tuple[float, float]]:
        vectors = attacker.encoder.encode([Image.fromarray(f) for f in frames])
        out = []
        for vec in vectors:
            est = attacker.estimate(vec[None])
            out.append((est.lat, est.lon))
        return out

    return locate


def gallery_vectors(index_path: str, limit: int = 20_000) -> tuple[np.ndarray, Any]:
    """The index's vectors (up to ``limit``, evenly sampled) and its encoder identity, for
    sensitivity maps that target the attacker's own gallery."""
    from geoprivacy.attacks.retrieval.index import GalleryIndex

    index = GalleryIndex.load(index_path)
    n = index.index.ntotal
    rows = np.linspace(0, n - 1, min(n, limit)).astype(np.int64) if n > limit else np.arange(n)
    try:
        vectors = np.stack([index.index.reconstruct(int(r)) for r in rows])
    except RuntimeError:   # an IVF index without a direct map cannot give vectors back
        return np.zeros((0, index.identity.dim), np.float32), index.identity
    return vectors.astype(np.float32), index.identity
