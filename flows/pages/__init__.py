"""Page objects: one per step of the city's booking component, with intent-level methods."""

from .activation import ActivationPage
from .appointment_step import AppointmentStep
from .base import StepPage, site_stop
from .contact_step import ContactStep
from .manage import ManagePage
from .service_step import ServiceStep
from .summary_step import SummaryStep

__all__ = ["ActivationPage", "AppointmentStep", "ContactStep", "ManagePage", "ServiceStep", "StepPage",
           "SummaryStep", "site_stop"]
