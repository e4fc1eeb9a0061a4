"""Fallback for movies the structural writer cannot edit: remux the audio/video packets (PyAV).

Packets are copied, never re-encoded, but the container is written anew by FFmpeg (its own
``moov``, edit lists and chunk layout), so this is only used when the structural writer refuses a
layout it does not support (a GPS track in a fragmented movie), and the engine reports it.
"""

from __future__ import annotations

from typing import BinaryIO

from geoprivacy.errors import ParseError

REMUX_MARKER = "method:remux-fallback"   # the engine's marker for "this output was remuxed"
FORMATS = {"MOV": "mov", "MP4": "mp4", "3GP": "3gp"}


class NeedsRemux(ParseError):
    """The movie is valid but its layout is one the structural writer cannot edit losslessly."""

    def __init__(self, message: str, removed: list[str]) -> None:
        super().__init__(message)
        self.removed = removed


def remux(input_path: str, out: BinaryIO, container: str) -> None:
    """Copy every audio and video packet of ``input_path`` into a fresh movie, nothing else."""
    import av

    cover = av.stream.Disposition.attached_pic
    try:
        with av.open(input_path) as src:
            streams = [s for s in src.streams if s.type in ("audio", "video")
                       and not s.disposition & cover]
            if not streams:
                raise ParseError("no audio or video stream to keep")
            with av.open(out, "w", format=FORMATS.get(container, "mp4")) as dst:
                mapping = {}
                for stream in streams:
                    copy = dst.add_stream_from_template(stream)
                    copy.time_base = stream.time_base
                    copy.metadata.clear()
                    mapping[stream.index] = copy
                for packet in src.demux(streams):
                    if packet.dts is None and not packet.size:
                        continue  # the demuxer's end-of-stream marker
                    packet.stream = mapping[packet.stream.index]
                    dst.mux(packet)
    except av.error.FFmpegError as exc:  # type: ignore[attr-defined]
        raise ParseError(f"remux failed: {exc}") from exc
    except (UnicodeDecodeError, ValueError) as exc:
        # PyAV decodes container tags as UTF-8 on open; hostile bytes there fail as plain
        # Python errors (found by fuzzing), and a template stream can be refused by the muxer
        raise ParseError(f"remux failed: {type(exc).__name__}: {exc}") from exc
