"""The protobuf wire format, read without a schema (DJI ``djmd`` samples, Insta360 metadata).

Hand-written: neither vendor publishes its .proto for most models, a schema-less walk of the
wire format is a few dozen lines, and the protobuf package is not worth adding for that. Every
read is bounds-checked and moves forward; hostile bytes raise ProtobufError, nothing else
(protobuf.dev/programming-guides/encoding).
"""

from __future__ import annotations

from typing import Iterator

MAX_FIELDS = 100_000            # fields read from one message level
VARINT, I64, LEN, I32 = 0, 1, 2, 5
MASK64 = (1 << 64) - 1


class ProtobufError(ValueError):
    """Bytes that are not protobuf wire format (cut off, or an impossible field)."""


def read_varint(data: bytes | memoryview, pos: int) -> tuple[int, int]:
    """(value, position after it); at most 10 bytes, as the encoding allows."""
    if pos < len(data) and data[pos] < 0x80:
        return data[pos], pos + 1     # the common one-byte case, without the loop
    result = shift = 0
    for i in range(pos, min(pos + 10, len(data))):
        byte = data[i]
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result & MASK64, i + 1
        shift += 7
    raise ProtobufError(f"varint at byte {pos} cut off or longer than 10 bytes")


def field_spans(data: bytes | memoryview) -> Iterator[tuple[int, int, int, int, int]]:
    """(field number, wire type, varint value (0 for the others), value start, value end) of
    each field of one message level. Groups (wire types 3, 4) are deprecated and refused."""
    pos, end = 0, len(data)
    for _ in range(MAX_FIELDS):
        if pos >= end:
            return
        start = pos
        key, pos = read_varint(data, pos)
        number, wire = key >> 3, key & 7
        if number == 0 or number >= 1 << 29:
            raise ProtobufError(f"field number {number} at byte {start}")
        if wire == VARINT:
            value, after = read_varint(data, pos)
            yield number, wire, value, pos, after
            pos = after
            continue
        if wire == LEN:
            size, pos = read_varint(data, pos)
        elif wire in (I64, I32):
            size = 8 if wire == I64 else 4
        else:
            raise ProtobufError(f"wire type {wire} at byte {start}")
        if size > end - pos:
            raise ProtobufError(f"field {number} at byte {start} runs {size - (end - pos)} "
                                "bytes past its message")
        yield number, wire, 0, pos, pos + size
        pos += size
    raise ProtobufError(f"more than {MAX_FIELDS} fields in one message")


def fields(data: bytes | memoryview) -> Iterator[tuple[int, int, int | memoryview]]:
    """(field number, wire type, value) of each field of one message level: varints as ints,
    the rest as views into ``data``."""
    view = memoryview(data)
    for number, wire, value, start, end in field_spans(view):
        yield number, wire, (value if wire == VARINT else view[start:end])
