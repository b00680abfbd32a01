"""An MJPG AVI writer that can leave null frames: the timestamp gaps of real VFR AVIs.

A null frame is an index entry with no data; FFmpeg skips it and the next frame's
timestamp jumps (as in OpenCV's sample tree.avi). OpenCV's VideoWriter cannot
write one, so the tests write the RIFF structure themselves.
"""

from __future__ import annotations

import struct

import cv2
import numpy as np


def _chunk(fourcc: bytes, data: bytes) -> bytes:
    return fourcc + struct.pack("<I", len(data)) + data + (b"\0" if len(data) % 2 else b"")


def _list(kind: bytes, data: bytes) -> bytes:
    return b"LIST" + struct.pack("<I", len(data) + 4) + kind + data


def write_mjpg_avi(path: str, frames: np.ndarray, fps: float, null_frames=()) -> None:
    """Writes RGB `frames` [T, H, W, 3] at `fps`; the indices in `null_frames` stay empty."""
    h, w = frames[0].shape[:2]
    chunks = [b"" if i in null_frames else
              cv2.imencode(".jpg", cv2.cvtColor(f, cv2.COLOR_RGB2BGR))[1].tobytes()
              for i, f in enumerate(frames)]
    n = len(chunks)
    avih = struct.pack("<14I", int(1e6 / fps), 0, 0, 0x10, n, 0, 1, 0, w, h, 0, 0, 0, 0)
    strh = b"vidsMJPG" + struct.pack("<IHHIIIIIIIIhhhh", 0, 0, 0, 0, 1000, int(fps * 1000),
                                     0, n, 0, 0xFFFFFFFF, 0, 0, 0, w, h)
    strf = struct.pack("<IiiHHIIiiII", 40, w, h, 1, 24, struct.unpack("<I", b"MJPG")[0],
                       w * h * 3, 0, 0, 0, 0)
    header = _list(b"hdrl", _chunk(b"avih", avih)
                   + _list(b"strl", _chunk(b"strh", strh) + _chunk(b"strf", strf)))
    movi, index, offset = b"", b"", 4
    for data in chunks:
        index += b"00dc" + struct.pack("<III", 0x10 if data else 0, offset, len(data))
        piece = _chunk(b"00dc", data)
        movi += piece
        offset += len(piece)
    body = b"AVI " + header + _list(b"movi", movi) + _chunk(b"idx1", index)
    with open(path, "wb") as f:
        f.write(b"RIFF" + struct.pack("<I", len(body)) + body)
