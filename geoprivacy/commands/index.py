"""`geoprivacy index build|info`: make a retrieval gallery from geo-tagged media, describe one."""

from __future__ import annotations

import json
import sys

import click


def build_index(sources: list[str], output: str, *, encoder: str, pooling: str | None,
                image_size: int | None, weights: str | None, every_m: float | None,
                every_s: float | None, index_type: str, device: str, quiet: bool) -> int:
    """Embed every geo-tagged photo and video frame of SOURCES and save the index."""
    from geoprivacy.attacks.retrieval.encoders import load_encoder
    from geoprivacy.attacks.retrieval.gallery import collect_samples, embed_samples
    from geoprivacy.attacks.retrieval.index import GalleryIndex, choose_index_type
    from geoprivacy.cli import progress

    choose_index_type(0, index_type)  # fail early on a bad name
    enc = load_encoder(encoder, pooling=pooling, image_size=image_size, device=device,
                       weights=weights)
    samples, skipped = collect_samples(sources, every_s=every_s, every_m=every_m,
                                       progress=lambda items, label: progress(items, label, quiet))
    vectors, labels = embed_samples(enc, samples)
    if not quiet:
        for path, reason in skipped:
            click.echo(f"skipped {path}: {reason}", err=True)
    index = GalleryIndex.build(vectors, labels, enc.identity, index_type,
                               extra={"every_m": every_m, "every_s": every_s})
    index.save(output)
    if not quiet:
        info = index.info()
        click.echo(f"{output}: {info['count']} vectors from {info['sources']} files "
                   f"({info['video_frames']} video frames), {info['index_type']} index, "
                   f"encoder {enc.identity.encoder}/{enc.identity.pooling}"
                   f"@{enc.identity.image_size}")
    return 0


def index_info(path: str, as_json: bool) -> int:
    from geoprivacy.attacks.retrieval.index import GalleryIndex

    info = GalleryIndex.load(path).info()
    if as_json:
        json.dump(info, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    enc, ext = info["encoder"], info["extent"]
    click.echo(f"vectors      {info['count']} ({info['video_frames']} video frames) from "
               f"{info['sources']} files")
    click.echo(f"index type   {info['index_type']}")
    click.echo(f"encoder      {enc['encoder']} pooling={enc['pooling']} "
               f"size={enc['image_size']} dim={enc['dim']}")
    click.echo(f"weights      sha256 {enc['weights_sha256']}")
    if ext:
        click.echo(f"extent       lat {ext['min_lat']:.4f} … {ext['max_lat']:.4f}, "
                   f"lon {ext['min_lon']:.4f} … {ext['max_lon']:.4f}")
    click.echo(f"created      {info['created']}")
    return 0
