"""FriendlyCaptcha v1 puzzles and their verification, as the replica's own vendor.

The city used FriendlyCaptcha from January to May 2025 (spec §4). The replica
serves the vendor's two endpoints itself:

- puzzle: ``GET …/puzzle?sitekey=…`` → ``{"data":{"puzzle":"<sig>.<b64 buffer>"}}``
- verification of the widget's solution string
  ``<sig>.<puzzle b64>.<b64 of 8·n solution bytes>.<diagnostics b64>``.

Puzzle buffer (32 bytes): 0–3 timestamp (uint32, big-endian, replica clock),
4–7 account, 8–11 app, 12 version (1), 13 expiry (units of 300 s),
14 number of solutions n, 15 difficulty d, 16–23 zero, 24–31 nonce.
The signature is HMAC-SHA256 over the buffer (hex); the widget does not check
it, the verifier does. A solution i is the last 8 bytes (120–127) of a
128-byte input = buffer zero-padded, byte 120 = i; it is valid when the first
4 bytes (little-endian uint32) of its BLAKE2b-256 hash are below
``floor(2 ** ((255.999 - d) / 8))``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
import threading

from .clock import ReplicaClock

BUFFER_BYTES = 32
INPUT_BYTES = 128
EXPIRY_UNIT_S = 300


def threshold(difficulty: int) -> int:
    d = min(255, max(0, difficulty))
    return int(2 ** ((255.999 - d) / 8.0)) & 0xFFFFFFFF


def solution_hash_ok(buffer: bytes, index: int, solution: bytes, limit: int) -> bool:
    """Whether one 8-byte solution for puzzle ``index`` hashes below ``limit``."""
    if len(solution) != 8 or solution[0] != index:
        return False
    data = bytearray(INPUT_BYTES)
    data[: len(buffer)] = buffer
    data[120:128] = solution
    digest = hashlib.blake2b(bytes(data), digest_size=32).digest()
    return struct.unpack("<I", digest[:4])[0] < limit


class FriendlyCaptcha:
    def __init__(self, clock: ReplicaClock, secret: str, solutions: int, difficulty: int, expiry_units: int) -> None:
        self.clock = clock
        self.secret = secret.encode()
        self.solutions = solutions
        self.difficulty = difficulty
        self.expiry_units = max(1, expiry_units)
        self._used: dict[bytes, float] = {}
        self._lock = threading.Lock()

    def _sign(self, buffer: bytes) -> str:
        return hmac.new(self.secret, buffer, hashlib.sha256).hexdigest()

    def create_puzzle(self, account: int = 1, app: int = 1) -> str:
        buffer = bytearray(BUFFER_BYTES)
        struct.pack_into(">III", buffer, 0, int(self.clock.now()), account, app)
        buffer[12] = 1
        buffer[13] = self.expiry_units
        buffer[14] = self.solutions
        buffer[15] = self.difficulty
        buffer[24:32] = secrets.token_bytes(8)
        return f"{self._sign(bytes(buffer))}.{base64.b64encode(bytes(buffer)).decode()}"

    def verify(self, solution: str) -> str | None:
        """``None`` when valid, otherwise the reason (one of FriendlyCaptcha's error codes)."""
        parts = solution.split(".")
        if len(parts) != 4:
            return "bad_request"
        signature, puzzle_b64, solutions_b64, _diagnostics = parts
        try:
            buffer = base64.b64decode(puzzle_b64, validate=True)
            solved = base64.b64decode(solutions_b64, validate=True)
        except ValueError:
            return "bad_request"
        if len(buffer) < BUFFER_BYTES or not hmac.compare_digest(self._sign(buffer), signature):
            return "solution_invalid"
        issued = struct.unpack(">I", buffer[0:4])[0]
        if self.clock.now() > issued + buffer[13] * EXPIRY_UNIT_S:
            return "solution_timeout_or_duplicate"
        n, limit = buffer[14], threshold(buffer[15])
        if len(solved) != 8 * n:
            return "solution_invalid"
        for i in range(n):
            if not solution_hash_ok(buffer, i, solved[i * 8 : (i + 1) * 8], limit):
                return "solution_invalid"
        with self._lock:
            now = self.clock.now()
            self._used = {k: t for k, t in self._used.items() if t >= now}
            if buffer in self._used:
                return "solution_timeout_or_duplicate"
            self._used[buffer] = issued + buffer[13] * EXPIRY_UNIT_S
        return None

