"""TFRecord files of `tf.train.SequenceExample`s, written without importing TensorFlow.

`vidrec convert` runs on Beam workers that need no TensorFlow: importing it
costs seconds per process (per worker in multi_processing mode) for two small
formats. Both are written here by their specifications and read back by
TensorFlow in the tests, byte for byte:

- the protobuf wire format of ``tensorflow/core/example/{example,feature}.proto``:
  fields in number order, map entries sorted by key, numbers packed, which is
  what TensorFlow's ``SerializeToString(deterministic=True)`` writes;
- TFRecord framing: ``uint64 length, uint32 masked_crc32c(length), data,
  uint32 masked_crc32c(data)``, little-endian, CRC-32C from `google_crc32c`.
"""

from __future__ import annotations

import struct
from typing import BinaryIO, Mapping, Sequence, Union

import google_crc32c

Value = Union[int, float, bytes]
_MASK_DELTA = 0xA282EAD8


def _varint(n: int) -> bytes:
    if n < 0:
        n += 1 << 64  # int64 as protobuf encodes it: ten bytes, two's complement
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited field (wire type 2)."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def feature(value: Value | Sequence[bytes]) -> bytes:
    """One `tf.train.Feature`: an int (Int64List), a float (FloatList) or bytes (BytesList)."""
    if isinstance(value, bool):
        raise TypeError("a feature is an int, a float or bytes, not a bool")
    if isinstance(value, int):
        return _field(3, _field(1, _varint(value)))
    if isinstance(value, float):
        return _field(2, _field(1, struct.pack("<f", value)))
    values = [value] if isinstance(value, bytes) else list(value)
    return _field(1, b"".join(_field(1, v) for v in values))


def _map(number: int, entries: Mapping[str, bytes]) -> bytes:
    """A protobuf map<string, message> field, entries sorted by key."""
    return b"".join(_field(number, _field(1, key.encode()) + _field(2, entries[key]))
                    for key in sorted(entries))


def sequence_example(context: Mapping[str, Value | Sequence[bytes]],
                     feature_lists: Mapping[str, Sequence[bytes]]) -> bytes:
    """A serialised `tf.train.SequenceExample`.

    Args:
      context: name -> an int, a float or bytes (one value each).
      feature_lists: name -> one bytes value per step (e.g. one JPEG per frame).
    """
    features = _map(1, {k: feature(v) for k, v in context.items()})
    lists = _map(1, {k: b"".join(_field(1, feature(v)) for v in steps)
                     for k, steps in feature_lists.items()})
    return _field(1, features) + _field(2, lists)


def _masked_crc(data: bytes) -> int:
    crc = google_crc32c.value(data)
    return (((crc >> 15) | (crc << 17)) + _MASK_DELTA) & 0xFFFFFFFF


def frame(record: bytes) -> bytes:
    """`record` framed as one TFRecord."""
    length = struct.pack("<Q", len(record))
    return (length + struct.pack("<I", _masked_crc(length)) + record
            + struct.pack("<I", _masked_crc(record)))


def write(f: BinaryIO, record: bytes) -> int:
    """Appends one TFRecord to the open file `f`; returns the bytes written."""
    data = frame(record)
    f.write(data)
    return len(data)
