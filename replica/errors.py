"""The city's API error catalogue and the exception that carries it.

Error body, as the city's API sends it:
``{"errors":[{"errorCode","errorMessage","errorType","statusCode"}]}``;
the HTTP status is the highest ``statusCode`` of the list.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.responses import JSONResponse


@dataclass(frozen=True)
class ErrorSpec:
    status: int
    message: str
    kind: str = "error"  # errorType: error | warning | info


CATALOGUE: dict[str, ErrorSpec] = {
    # request validation
    "invalidRequest": ErrorSpec(400, "Ungültige Anfrage."),
    "invalidStartDate": ErrorSpec(400, "startDate ist erforderlich und muss ein gültiges Datum sein."),
    "invalidEndDate": ErrorSpec(400, "endDate ist erforderlich und muss ein gültiges Datum sein."),
    "startDateAfterEndDate": ErrorSpec(400, "startDate darf nicht nach endDate liegen."),
    "dateRangeTooLarge": ErrorSpec(400, "Der Zeitraum zwischen startDate und endDate ist zu groß."),
    "invalidSlotsStartDate": ErrorSpec(400, "slotsStartDate muss ein gültiges Datum sein."),
    "invalidSlotsEndDate": ErrorSpec(400, "slotsEndDate muss ein gültiges Datum sein."),
    "invalidDateRange": ErrorSpec(400, "slotsStartDate darf nicht nach slotsEndDate liegen."),
    "invalidOfficeId": ErrorSpec(400, "officeId muss eine 32-Bit-Ganzzahl sein."),
    "invalidServiceId": ErrorSpec(400, "serviceId muss eine 32-Bit-Ganzzahl sein."),
    "invalidServiceCount": ErrorSpec(400, "serviceCounts muss ein Array aus numerischen Werten sein."),
    "invalidProcessId": ErrorSpec(400, "processId muss eine positive 32-Bit-Ganzzahl sein."),
    "invalidScopeId": ErrorSpec(400, "scopeId muss eine positive 32-Bit-Ganzzahl sein."),
    "invalidAuthKey": ErrorSpec(400, "authKey muss eine Zeichenkette sein."),
    "invalidTimestamp": ErrorSpec(400, "Fehlender oder ungültiger Zeitstempel. Der Wert muss eine positive Zahl sein."),
    "invalidFamilyName": ErrorSpec(400, "familyName muss eine nicht-leere Zeichenkette sein."),
    "invalidEmail": ErrorSpec(400, "email muss eine gültige E-Mail-Adresse sein."),
    "invalidTelephone": ErrorSpec(400, "telephone muss eine Zahlenkette zwischen 7 und 15 Stellen sein."),
    "invalidCustomTextfield": ErrorSpec(400, "customTextfield muss eine Zeichenkette sein."),
    "invalidLocationAndServiceCombination": ErrorSpec(
        400, "Die angegebene Dienstleistung ist an diesem Standort nicht verfügbar."
    ),
    "requestEntityTooLarge": ErrorSpec(413, "Die Anfrage ist zu groß."),
    "requestMethodNotAllowed": ErrorSpec(405, "Anfragemethode nicht zulässig."),
    "notFound": ErrorSpec(404, "Die angeforderte Ressource wurde nicht gefunden."),
    # captcha
    "captchaMissing": ErrorSpec(400, "Captcha-Token fehlt."),
    "captchaInvalid": ErrorSpec(400, "Captcha-Token ist ungültig."),
    "captchaExpired": ErrorSpec(400, "Captcha-Token ist abgelaufen."),
    "captchaVerificationFailed": ErrorSpec(400, "Captcha-Prüfung fehlgeschlagen."),
    # availability and booking
    "noAppointmentForThisScope": ErrorSpec(
        404, "Leider sind aktuell keine Termine für die ausgewählte Dienstleistung frei.", "info"
    ),
    "appointmentNotAvailable": ErrorSpec(404, "Der von Ihnen gewählte Termin ist leider nicht mehr verfügbar."),
    "appointmentNotFound": ErrorSpec(404, "Der angeforderte Termin wurde nicht gefunden."),
    "authKeyMismatch": ErrorSpec(406, "Ungültiger Authentifizierungsschlüssel."),
    "processNotReservedAnymore": ErrorSpec(409, "Der Termin ist nicht mehr reserviert."),
    "processNotPreconfirmedAnymore": ErrorSpec(409, "Der Termin ist nicht mehr vorbestätigt."),
    "appointmentCanNotBeCanceled": ErrorSpec(406, "Der gewählte Termin kann leider nicht abgesagt werden."),
    "emailIsRequired": ErrorSpec(406, "Die E-Mail-Adresse ist erforderlich."),
    "telephoneIsRequired": ErrorSpec(406, "Die Telefonnummer ist erforderlich."),
    "tooManyAppointmentsWithSameMail": ErrorSpec(406, "Zu viele Termine mit derselben E-Mail-Adresse."),
    # abuse protection and operations
    "rateLimitExceeded": ErrorSpec(429, "Zu viele Anfragen. Bitte versuchen Sie es später erneut."),
    "IP_BLACKLISTED": ErrorSpec(403, "Der Zugriff von Ihrer IP-Adresse ist gesperrt."),
    "serviceUnavailable": ErrorSpec(503, "Der Dienst ist wegen Wartungsarbeiten nicht verfügbar."),
    "internalError": ErrorSpec(500, "Ein interner Fehler ist aufgetreten. Bitte versuchen Sie es später erneut."),
}


def error_entry(code: str) -> dict:
    spec = CATALOGUE[code]
    return {"errorCode": code, "errorMessage": spec.message, "errorType": spec.kind, "statusCode": spec.status}


class ApiError(Exception):
    """One or more catalogue errors; rendered as the city's error body."""

    def __init__(self, *codes: str, headers: dict[str, str] | None = None) -> None:
        if not codes:
            raise ValueError("ApiError needs at least one error code")
        unknown = [c for c in codes if c not in CATALOGUE]
        if unknown:
            raise KeyError(f"unknown error code(s): {unknown}")
        super().__init__(", ".join(codes))
        self.codes = codes
        self.headers = headers or {}

    @property
    def status(self) -> int:
        return max(CATALOGUE[c].status for c in self.codes)

    def response(self) -> JSONResponse:
        body = {"errors": [error_entry(c) for c in self.codes]}
        return JSONResponse(body, status_code=self.status, headers=self.headers)


def raise_if(codes: list[str]) -> None:
    """Raise the collected validation errors, if any."""
    if codes:
        raise ApiError(*codes)
