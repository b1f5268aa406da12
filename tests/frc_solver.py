"""An independent FriendlyCaptcha v1 solver, written from the widget's worker (spec §4)."""

from __future__ import annotations

import base64
import hashlib
import struct


def threshold(difficulty: int) -> int:
    return int(2 ** ((255.999 - min(255, max(0, difficulty))) / 8.0)) & 0xFFFFFFFF


def solve_puzzle(puzzle: str) -> str:
    """Solve every sub-puzzle; return the widget's solution string."""
    signature, puzzle_b64 = puzzle.split(".")
    buffer = base64.b64decode(puzzle_b64)
    n, limit = buffer[14], threshold(buffer[15])
    out = bytearray()
    for i in range(n):
        data = bytearray(128)
        data[: len(buffer)] = buffer
        data[120] = i
        counter = 0
        while True:
            struct.pack_into("<I", data, 124, counter)
            digest = hashlib.blake2b(bytes(data), digest_size=32).digest()
            if struct.unpack("<I", digest[:4])[0] < limit:
                break
            counter += 1
        out += data[120:128]
    diagnostics = base64.b64encode(bytes([1, 0, 0])).decode()
    return f"{signature}.{puzzle_b64}.{base64.b64encode(bytes(out)).decode()}.{diagnostics}"
