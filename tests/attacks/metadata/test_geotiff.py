"""GeoTIFF georeferencing: geographic and UTM rasters are located, others are "not checked"."""

from __future__ import annotations


import pytest

from geoprivacy.attacks.metadata import tiff
from geoprivacy.attacks.metadata.common import Collector, Options
from geoprivacy.attacks.metadata.geotiff import geokeys, utm_to_latlon, utm_zone
from geoprivacy.media.source import Source
from tests.attacks.metadata.tiffbuild import DOUBLE, SHORT, build

# Reference values from PROJ (pyproj 3.7 Transformer EPSG:326zz/327zz -> EPSG:4326).
PROJ = [
    ((500000.0, 0.0, 33, True), (0.0, 15.0)),
    ((420000.0, 5300000.0, 33, True), (47.848362, 13.930673)),
    ((700000.0, 6600000.0, 33, True), (59.490626, 18.532602)),
    ((300000.0, 8600000.0, 18, False), (-12.657817, -76.841535)),
    ((650000.0, 4100000.0, 18, False), (-53.228082, -72.752854)),
    ((583960.0, 4507523.0, 18, True), (40.714349, -74.00597)),
]


@pytest.mark.parametrize(("utm", "want"), PROJ)
def test_utm_inverse_matches_proj(utm: tuple, want: tuple[float, float]) -> None:
    lat, lon = utm_to_latlon(*utm)
    assert lat == pytest.approx(want[0], abs=2e-6) and lon == pytest.approx(want[1], abs=2e-6)


def test_utm_zones_from_epsg() -> None:
    assert utm_zone(32633) == (33, True) and utm_zone(32718) == (18, False)
    assert utm_zone(26910) == (10, True) and utm_zone(2154) is None


def _geotiff(keys: tuple[int, ...], tie: tuple[float, ...] | None = None,
             matrix: tuple[float, ...] | None = None) -> bytes:
    entries = [(256, SHORT, [16]), (257, SHORT, [16]), (33550, DOUBLE, [0.5, 0.5, 0.0])]
    if tie is not None:
        entries.append((33922, DOUBLE, list(tie)))
    if matrix is not None:
        entries.append((34264, DOUBLE, list(matrix)))
    entries.append((34735, SHORT, list(keys)))
    return build([entries])


def _audit(data: bytes) -> Collector:
    out = Collector(Options(detail=True))
    tiff.parse(Source.from_bytes(data), out)
    return out


GEOGRAPHIC = (1, 1, 0, 2, 1024, 0, 1, 2, 2048, 0, 1, 4326)
UTM33N = (1, 1, 0, 2, 1024, 0, 1, 1, 3072, 0, 1, 32633)
LAMBERT93 = (1, 1, 0, 2, 1024, 0, 1, 1, 3072, 0, 1, 2154)


def test_geographic_tie_point_is_a_position() -> None:
    out = _audit(_geotiff(GEOGRAPHIC, tie=(0, 0, 0, 13.930673, 47.848362, 0)))
    [e] = [e for e in out.evidence if e.kind.is_location]
    assert (e.lat, e.lon) == pytest.approx((47.848362, 13.930673))
    assert e.where == "GeoTIFF:ModelTiepoint" and e.detail["crs"] == "EPSG:4326"


def test_utm_tie_point_is_converted() -> None:
    out = _audit(_geotiff(UTM33N, tie=(0, 0, 0, 420000.0, 5300000.0, 0)))
    [e] = [e for e in out.evidence if e.kind.is_location]
    assert (e.lat, e.lon) == pytest.approx((47.848362, 13.930673), abs=1e-5)


def test_transformation_matrix_without_tie_point() -> None:
    matrix = (0.5, 0, 0, 420000.0, 0, -0.5, 0, 5300000.0, 0, 0, 0, 0, 0, 0, 0, 1)
    out = _audit(_geotiff(UTM33N, matrix=matrix))
    [e] = [e for e in out.evidence if e.kind.is_location]
    assert e.where == "GeoTIFF:ModelTransformation"
    assert (e.lat, e.lon) == pytest.approx((47.848362, 13.930673), abs=1e-5)


def test_unconverted_projection_is_not_checked_never_clean() -> None:
    out = _audit(_geotiff(LAMBERT93, tie=(0, 0, 0, 700000.0, 6600000.0, 0)))
    assert not [e for e in out.evidence if e.kind.is_location]
    assert any("EPSG:2154" in w and "not checked" in w for w in out.warnings)


def test_long_gcp_list_reads_only_the_first_tie_point() -> None:
    gcps = [v for i in range(3000) for v in (i, i, 0, 13.93 + i * 1e-4, 47.84, 0)]  # 144 KB
    out = _audit(_geotiff(GEOGRAPHIC, tie=tuple(gcps)))
    [e] = [e for e in out.evidence if e.kind.is_location]
    assert (e.lat, e.lon) == pytest.approx((47.84, 13.93))


def test_geokey_directory_bounds() -> None:
    assert geokeys([1, 1, 0, 60000, 1024, 0, 1, 2]) == {1024: 2}     # count past the data
    assert geokeys([1, 1]) == {}
    assert geokeys([1, 1, 0, 1, 3072, 34736, 1, 0]) == {}             # value stored elsewhere


def test_non_finite_tie_point_is_ignored() -> None:
    out = _audit(_geotiff(GEOGRAPHIC, tie=(0, 0, 0, float("nan"), 47.0, 0)))
    assert not [e for e in out.evidence if e.kind.is_location]


# --- BigTIFF (64-bit offsets: large orthomosaics) ---------------------------------------------

def test_bigtiff_gps_ifd_is_read() -> None:
    from tests.attacks.metadata.tiffbuild import bigtiff_with_gps
    out = _audit(bigtiff_with_gps())
    [e] = [e for e in out.evidence if e.kind.is_location]
    assert (e.lat, e.lon) == pytest.approx((48.1173, 11.516667), abs=1e-4)


def test_bigtiff_with_undefined_offset_size_is_refused_in_one_line() -> None:
    from geoprivacy.errors import ParseError
    from tests.attacks.metadata.tiffbuild import bigtiff_with_gps
    with pytest.raises(ParseError, match="16-byte offsets"):
        _audit(bigtiff_with_gps(offset_size=16))


def test_bigtiff_geotiff_written_by_tifffile(tmp_path) -> None:
    tifffile = pytest.importorskip("tifffile")
    import numpy as np
    path = tmp_path / "ortho.tif"
    tifffile.imwrite(path, np.zeros((16, 16, 3), np.uint8), bigtiff=True, extratags=[
        (33922, "d", 6, (0, 0, 0, 420000.0, 5300000.0, 0), True),
        (34735, "H", 12, UTM33N, True)])
    out = _audit(path.read_bytes())
    [e] = [e for e in out.evidence if e.kind.is_location]
    assert (e.lat, e.lon) == pytest.approx((47.848362, 13.930673), abs=1e-5)
