"""ALTCHA challenges and the captcha token, as the city's API issues them.

Challenges are ALTCHA v2 (``{"parameters": {...}, "signature"}``), created and
verified with the PyPI ``altcha`` package. A verified solution earns a JWT
(HS256, ``{ip, iat, exp}``) bound to the client's IP, which the API then
requires as ``captchaToken`` for offices with ``captchaActivatedRequired``.
"""

from __future__ import annotations

import threading

import altcha
import jwt

from .clock import ReplicaClock
from .errors import ApiError
from .settings import ReplicaSettings


class CaptchaService:
    def __init__(self, settings: ReplicaSettings, clock: ReplicaClock) -> None:
        self.settings = settings
        self.clock = clock
        self._used_nonces: dict[str, float] = {}  # nonce -> expiresAt, for replay protection
        self._lock = threading.Lock()
        self.token_lifetime_override: float | None = None  # fault injection: short-lived tokens
        self._issued: set[str] = set()
        self._revoked: set[str] = set()  # fault injection: tokens that expired early

    # -- challenge ---------------------------------------------------------
    def create_challenge(self) -> dict:
        expires_at = int(self.clock.now() + self.settings.altcha_challenge_ttl_s)
        challenge = altcha.create_challenge(
            self.settings.altcha_algorithm,
            self.settings.altcha_cost,
            key_prefix=self.settings.altcha_key_prefix,
            expires_at=expires_at,
            hmac_secret=self.settings.altcha_hmac_secret,
        )
        return challenge.to_dict()

    def verify_payload(self, payload_b64: str) -> None:
        """Check a widget's solution; raise ``captchaVerificationFailed``.

        Rejects tampered parameters (signature), wrong solutions, expired
        challenges (replica clock) and replays of an already accepted nonce.
        """
        try:
            padded = payload_b64.replace("-", "+").replace("_", "/")
            padded += "=" * (-len(padded) % 4)
            payload = altcha.Payload.from_base64(padded)
        except Exception as exc:  # malformed base64 or JSON
            raise ApiError("captchaVerificationFailed") from exc
        expires_at = payload.challenge.parameters.expires_at
        if isinstance(expires_at, (int, float)) and expires_at < self.clock.now():
            raise ApiError("captchaVerificationFailed")
        result = altcha.verify_solution(payload, self.settings.altcha_hmac_secret)
        if not result.verified:
            raise ApiError("captchaVerificationFailed")
        nonce = payload.challenge.parameters.nonce
        with self._lock:
            now = self.clock.now()
            self._used_nonces = {n: e for n, e in self._used_nonces.items() if e >= now}
            if nonce in self._used_nonces:
                raise ApiError("captchaVerificationFailed")
            self._used_nonces[nonce] = float(expires_at or now + self.settings.altcha_challenge_ttl_s)

    # -- token -------------------------------------------------------------
    def issue_token(self, ip: str) -> str:
        now = int(self.clock.now())
        lifetime = self.token_lifetime_override or self.settings.token_lifetime_s
        claims = {"ip": ip, "iat": now, "exp": int(now + lifetime)}
        token = jwt.encode(claims, self.settings.token_secret, algorithm="HS256")
        with self._lock:
            self._issued.add(token)
        return token

    def expire_issued_tokens(self) -> int:
        """Fault: every token issued so far expires now (new ones are unaffected)."""
        with self._lock:
            self._revoked |= self._issued
            self._issued = set()
            return len(self._revoked)

    def check_token(self, token: str | None, ip: str) -> None:
        """Raise ``captchaMissing``/``captchaInvalid``/``captchaExpired`` as the city does."""
        if not token:
            raise ApiError("captchaMissing")
        try:
            # Expiry is judged on the replica clock, not PyJWT's wall clock.
            claims = jwt.decode(
                token, self.settings.token_secret, algorithms=["HS256"], options={"verify_exp": False, "verify_iat": False, "verify_nbf": False}
            )
        except jwt.PyJWTError as exc:
            raise ApiError("captchaInvalid") from exc
        if claims.get("ip") != ip:
            raise ApiError("captchaInvalid")
        if not isinstance(claims.get("exp"), (int, float)) or claims["exp"] <= self.clock.now():
            raise ApiError("captchaExpired")
        if token in self._revoked:
            raise ApiError("captchaExpired")
