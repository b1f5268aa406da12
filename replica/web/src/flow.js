// The request sequence behind each user action (spec §4b): which API call a
// click sends, in which order, with which parameters.
import { addMonths, berlinDate } from "./api.js";
import { officeById, officesForService } from "./store.js";

const CAPTCHA_ERRORS = ["captchaMissing", "captchaInvalid", "captchaExpired"];

export function createFlow(store, api, t) {
  let officeTimer = null;
  let listEnd = null;

  function handleError(error, { catalogue = false } = {}) {
    const code = error?.code;
    if (code === "rateLimitExceeded" || error?.status === 429) {
      store.rateLimited = true;
      return;
    }
    if (code === "serviceUnavailable" || error?.status === 503 || (catalogue && error?.status === 404)) {
      store.page = "maintenance";
      return;
    }
    if (!error?.status || error.status >= 500) {
      store.page = "failure";
      return;
    }
    if (CAPTCHA_ERRORS.includes(code)) {
      store.captchaToken = null;
      store.captchaValid = false;
      store.step = 0;
      store.notice = { type: "error", text: t.captchaError };
      return;
    }
    store.notice = { type: "error", text: error.errors?.[0]?.errorMessage || String(error) };
  }

  function captchaRequired() {
    if (!store.service) return false;
    return officesForService(store, store.service.id).some((o) => o.scope?.captchaActivatedRequired);
  }

  function calendarQuery(officeIds, slotsStart, slotsEnd = slotsStart) {
    const today = berlinDate();
    const query = {
      startDate: today,
      endDate: addMonths(today, 6),
      officeIds: [...officeIds].sort((a, b) => a - b).join(","),
      serviceIds: String(store.service.id),
      serviceCounts: String(store.count),
    };
    if (store.captchaToken) query.captchaToken = store.captchaToken;
    query.slotsStartDate = slotsStart;
    query.slotsEndDate = slotsEnd;
    return query;
  }

  function applyCalendar(calendar, day) {
    store.calendar = calendar;
    store.availableDays = calendar?.availableDays || [];
    store.selectedDay = day;
    const slots = {};
    for (const entry of store.availableDays) {
      if (entry.date !== day) continue;
      for (const office of entry.offices || []) slots[Number(office.officeId)] = office.appointments;
    }
    store.slots = slots;
  }

  // Calendar for the checked offices with the slots of `day`; when that day has
  // no slots, a follow-up call with the window set to the first bookable day.
  async function loadCalendarFor(day) {
    store.rateLimited = false;
    const checked = store.checkedOfficeIds;
    try {
      let calendar = await api.availableCalendar(calendarQuery(checked, day));
      const days = calendar.availableDays.map((d) => d.date);
      let shown = day;
      if (!days.includes(day) && days.length) {
        shown = days[0];
        calendar = await api.availableCalendar(calendarQuery(checked, shown));
      }
      applyCalendar(calendar, shown);
      return true;
    } catch (error) {
      if (error.code === "noAppointmentForThisScope") {
        applyCalendar(null, null);
        store.notice = { type: "info", text: t.noAppointments };
        return true;
      }
      handleError(error);
      return false;
    }
  }

  // Errors of the site itself (network, 5xx, rate limit) get the site's error pages;
  // the caller shows anything else in place.
  function siteTrouble(error) {
    if (error?.status === 0 || error?.status >= 500 || error?.status === 429) {
      handleError(error);
      return true;
    }
    return false;
  }

  return {
    handleError,
    siteTrouble,
    captchaRequired,

    async loadCatalogue() {
      try {
        const data = await api.officesAndServices(store.preselectedServiceId, store.preselectedOfficeId);
        store.offices = data.offices;
        store.services = data.services;
        store.relations = data.relations;
        if (store.preselectedServiceId) {
          store.service = data.services.find((s) => String(s.id) === String(store.preselectedServiceId)) || null;
        }
        store.loaded = true;
        return true;
      } catch (error) {
        handleError(error, { catalogue: true });
        return false;
      }
    },

    // "Weiter" from the service step.
    async openCalendar() {
      store.notice = null;
      let offices = officesForService(store, store.service.id).map((o) => o.id);
      if (store.preselectedOfficeId && store.exclusiveLocation) {
        offices = offices.filter((id) => String(id) === String(store.preselectedOfficeId));
      }
      store.selectableOfficeIds = offices;
      store.checkedOfficeIds = [...offices];
      store.selectedSlot = null;
      listEnd = null;
      return loadCalendarFor(berlinDate());
    },

    // A day tile (or a day of the list view) was chosen.
    async selectDay(day) {
      store.notice = null;
      store.selectedSlot = null;
      try {
        applyCalendar(await api.availableCalendar(calendarQuery(store.checkedOfficeIds, day)), day);
      } catch (error) {
        if (error.code === "noAppointmentForThisScope") return applyCalendar(null, null);
        handleError(error);
      }
    },

    // An office was ticked or unticked: one request after ~150 ms of quiet.
    toggleOffice(officeId, checked) {
      const ids = new Set(store.checkedOfficeIds);
      if (checked) ids.add(officeId);
      else ids.delete(officeId);
      store.checkedOfficeIds = [...ids].sort((a, b) => a - b);
      store.selectedSlot = null;
      clearTimeout(officeTimer);
      officeTimer = setTimeout(() => {
        if (store.checkedOfficeIds.length) loadCalendarFor(store.selectedDay || berlinDate());
      }, 150);
    },

    // List view "mehr laden": the next month's slots.
    async loadMore() {
      const from = listEnd ? addMonths(listEnd, 0) : store.selectedDay || berlinDate();
      const start = new Date(`${from}T12:00:00Z`);
      start.setUTCDate(start.getUTCDate() + 1);
      const slotsStart = start.toISOString().slice(0, 10);
      const slotsEnd = addMonths(slotsStart, 1);
      listEnd = slotsEnd;
      try {
        const calendar = await api.availableCalendar(calendarQuery(store.checkedOfficeIds, slotsStart, slotsEnd));
        store.availableDays = calendar.availableDays;
      } catch (error) {
        if (error.code !== "noAppointmentForThisScope") handleError(error);
      }
    },

    // Slot chosen, then "Weiter": reserve it (and give back an earlier reservation).
    async reserveSelected() {
      store.notice = null;
      const { officeId, timestamp } = store.selectedSlot;
      const previous = store.appointment;
      const body = {
        timestamp,
        serviceCount: [store.count],
        officeId,
        serviceId: [store.service.id],
      };
      if (store.captchaToken) body.captchaToken = store.captchaToken;
      try {
        store.appointment = await api.reserve(body);
        store.reservedAt = Date.now();
      } catch (error) {
        if (error.code === "appointmentNotAvailable") {
          store.notice = { type: "error", text: t.appointmentNotAvailable };
          store.selectedSlot = null;
          const day = store.selectedDay;
          store.slots = Object.fromEntries(
            Object.entries(store.slots).map(([id, list]) => [id, list.filter((ts) => !(Number(id) === officeId && ts === timestamp))]),
          );
          store.selectedDay = day;
          return false;
        }
        handleError(error);
        return false;
      }
      if (previous && previous.processId !== store.appointment.processId) {
        try {
          await api.cancel({ processId: previous.processId, authKey: previous.authKey, scope: previous.scope });
        } catch {
          /* the old reservation lapses by itself */
        }
      }
      return true;
    },

    async updateContact(contact) {
      const a = store.appointment;
      const body = {
        processId: a.processId,
        authKey: a.authKey,
        scope: a.scope,
        familyName: `${contact.firstName.trim()} ${contact.lastName.trim()}`,
        email: contact.email.trim(),
      };
      if (a.scope?.telephoneActivated && contact.telephone) body.telephone = contact.telephone.trim();
      try {
        store.appointment = await api.update(body);
        return true;
      } catch (error) {
        handleError(error);
        return false;
      }
    },

    async preconfirm() {
      const a = store.appointment;
      try {
        store.appointment = await api.preconfirm({ processId: a.processId, authKey: a.authKey, scope: a.scope });
        store.step = 4;
        return true;
      } catch (error) {
        handleError(error);
        return false;
      }
    },

    officeName: (id) => officeById(store, id)?.name || "",

    resetBooking() {
      Object.assign(store, {
        service: null, count: 1, captchaToken: null, captchaValid: false, step: 0, selectableOfficeIds: [],
        checkedOfficeIds: [], calendar: null, availableDays: [], selectedDay: null, slots: {}, selectedSlot: null,
        appointment: null, reservedAt: null, notice: null,
      });
    },
  };
}
