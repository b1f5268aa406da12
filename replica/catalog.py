"""Offices, services and their relations, seeded with the city's real ids (spec §5).

The JSON produced here has the field names and types of the city's
``offices-and-services/`` answer; office ids are ints there, strings inside
``available-calendar/`` (as the city sends them).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Office:
    id: int
    name: str
    street: str
    house_number: str
    postal_code: str
    slot_minutes: int = 10
    captcha_required: bool = True
    telephone_activated: bool = True
    telephone_required: bool = False
    email_required: bool = True
    lat: float = 48.137
    lon: float = 11.575
    hint: str = ""

    def scope(self, reservation_min: int, activation_min: int) -> dict:
        """The office's ``scope`` object (one scope per office in the replica)."""
        return {
            "id": self.id,
            "provider": {
                "id": self.id,
                "name": self.name,
                "displayName": self.name,
                "contact": {
                    "street": self.street,
                    "streetNumber": self.house_number,
                    "postalCode": self.postal_code,
                    "city": "München",
                },
            },
            "shortName": self.name.replace("Bürgerbüro ", ""),
            "emailFrom": "terminvereinbarung@muenchen.de",
            "emailRequired": self.email_required,
            "telephoneActivated": self.telephone_activated,
            "telephoneRequired": self.telephone_required,
            "customTextfieldActivated": False,
            "customTextfieldRequired": False,
            "customTextfieldLabel": None,
            "customTextfield2Activated": False,
            "customTextfield2Required": False,
            "customTextfield2Label": None,
            "captchaActivatedRequired": self.captcha_required,
            "infoForAppointment": None,
            "infoForAllAppointments": None,
            "slotsPerAppointment": "1",
            "appointmentsPerMail": None,
            "whitelistedMails": None,
            "reservationDuration": reservation_min,
            "activationDuration": activation_min,
            "hint": self.hint,
        }

    def to_json(self, reservation_min: int, activation_min: int) -> dict:
        return {
            "id": self.id,
            "name": self.name,
            "address": {
                "street": self.street,
                "house_number": self.house_number,
                "postal_code": self.postal_code,
                "city": "München",
                "hint": False,
            },
            "showAlternativeLocations": True,
            "displayNameAlternatives": [],
            "organization": "Landeshauptstadt München",
            "organizationUnit": "Kreisverwaltungsreferat",
            "slotTimeInMinutes": self.slot_minutes,
            "geo": {"lat": self.lat, "lon": self.lon},
            "disabledByServices": [],
            "priority": 1,
            "scope": self.scope(reservation_min, activation_min),
            "maxSlotsPerAppointment": "25",
            "slotsPerAppointment": "25",
            "parentId": None,
            "allowDisabledServicesMix": [],
            "sharedBookingOfficeIds": [],
        }


@dataclass
class Service:
    id: int
    name: str
    max_quantity: int = 5
    combinable: dict[str, list[int]] = field(default_factory=dict)
    show_on_start_page: bool = True

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "name": self.name,
            "maxQuantity": self.max_quantity,
            "combinable": self.combinable,
            "parentId": None,
            "variantId": None,
            "rootParentId": None,
            "showOnStartPage": self.show_on_start_page,
        }


@dataclass
class Catalog:
    offices: dict[int, Office]
    services: dict[int, Service]
    relations: list[tuple[int, int, int]]  # (officeId, serviceId, slots per service unit)

    def offices_for(self, service_id: int) -> list[int]:
        return sorted(o for o, s, _ in self.relations if s == service_id)

    def offers(self, office_id: int, service_id: int) -> bool:
        return any(o == office_id and s == service_id for o, s, _ in self.relations)

    def to_json(self, reservation_min: int, activation_min: int) -> dict:
        return {
            "offices": [o.to_json(reservation_min, activation_min) for o in self.offices.values()],
            "services": [s.to_json() for s in self.services.values()],
            "relations": [
                {
                    "officeId": o,
                    "serviceId": s,
                    "slots": slots,
                    "public": True,
                    "maxQuantity": self.services[s].max_quantity,
                }
                for o, s, slots in self.relations
            ],
        }


REISEPASS = 1063453
PERSONALAUSWEIS = 1063441
WOHNSITZANMELDUNG = 1063475
ABHOLUNG = 10295182
UMSCHREIBUNG_FAHRZEUG = 1064314


def munich_catalog() -> Catalog:
    """The city's ids and names (DLDB test export); addresses as published by the city."""
    offices = [
        Office(10489, "Bürgerbüro Ruppertstraße", "Ruppertstraße", "19", "80337", lat=48.1235, lon=11.5530),
        Office(10502, "Bürgerbüro Ruppertstraße (Pass- und Ausweiskalender)", "Ruppertstraße", "19", "80337",
               lat=48.1235, lon=11.5530),
        Office(102522, "Bürgerbüro Orleansplatz", "Orleansplatz", "11", "81667", lat=48.1289, lon=11.6046),
        Office(102523, "Bürgerbüro Leonrodstraße", "Leonrodstraße", "21", "80634", lat=48.1585, lon=11.5485),
        Office(102524, "Bürgerbüro Scheidplatz", "Belgradstraße", "9", "80796", lat=48.1716, lon=11.5730),
        Office(102526, "Bürgerbüro Forstenrieder Allee", "Forstenrieder Allee", "61a", "81476",
               lat=48.0900, lon=11.5050),
        Office(54261, "Bürgerbüro Pasing", "Landsberger Straße", "486", "81241", lat=48.1450, lon=11.4610),
    ]
    services = [
        Service(REISEPASS, "Reisepass"),
        Service(PERSONALAUSWEIS, "Personalausweis"),
        Service(WOHNSITZANMELDUNG, "Wohnsitzanmeldung"),
        Service(ABHOLUNG, "Abholung Personalausweis, Reisepass oder eID-Karte"),
        Service(UMSCHREIBUNG_FAHRZEUG, "Umschreibung Fahrzeug – von außerhalb nach München", max_quantity=1),
    ]
    district = [102522, 102523, 102524, 102526, 54261]
    relations: list[tuple[int, int, int]] = []
    for office in [10502, *district]:
        relations += [(office, REISEPASS, 1), (office, PERSONALAUSWEIS, 1), (office, ABHOLUNG, 1)]
    for office in [10489, *district]:
        relations.append((office, WOHNSITZANMELDUNG, 1))
    relations.append((10489, UMSCHREIBUNG_FAHRZEUG, 2))
    relations.sort()
    return Catalog(
        offices={o.id: o for o in offices},
        services={s.id: s for s in services},
        relations=relations,
    )
