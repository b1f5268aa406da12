// The request sequence behind each user action (spec §4b): which API call a
// click sends, in which order, with which parameters.
import { addMonths, berlinDate, firstOfNextMonth } from "./api.js";
import { officeById, officesForService } from "./store.js";

const CAPTCHA_ERRORS = ["captchaMissing", "captchaInvalid", "captchaExpired"];

export function createFlow(store, api, t) {
  let officeTimer = null;
  let listNext; // the list view's next day to load (undefined: take the calendar's)
  let listCursor = null; // the last day "mehr laden" asked for (so an empty answer moves on a month)

  function mergeListDays(days) {
    const known = new Map(store.listDays.map((d) => [d.date, d]));
    for (const d of days || []) known.set(d.date, d);
    store.listDays = [...known.values()].sort((a, b) => a.date.localeCompare(b.date));
  }

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

  // An answer paints the days of its month(s) and carries the free times of
  // one day: its slotsStartDate (= slotsEndDate) when it holds times (spec §3b).
  function applyCalendar(calendar) {
    store.calendar = calendar;
    store.availableDays = calendar?.availableDays || [];
    const day = calendar && calendar.slotsStartDate === calendar.slotsEndDate ? calendar.slotsStartDate : null;
    const slots = {};
    for (const entry of store.availableDays) {
      if (entry.date !== day) continue;
      for (const office of entry.offices || []) slots[Number(office.officeId)] = office.appointments;
    }
    store.slots = slots;
    store.selectedDay = Object.keys(slots).length ? day : null;
    store.calendarVersion += 1;
  }

  function noAppointments() {
    applyCalendar(null);
    store.notice = { type: "info", text: t.noAppointments };
  }

  async function requestDay(day) {
    store.loadingCalendar = true;
    try {
      return await api.availableCalendar(calendarQuery(store.checkedOfficeIds, day));
    } finally {
      store.loadingCalendar = false;
    }
  }

  // The calendar with `day` as slots window. The backend answers with the day
  // whose times it gives (a miss or the lead time moves it); when that day lies
  // outside the window asked for, the page asks once more for exactly that day.
  async function loadCalendarFor(day) {
    store.rateLimited = false;
    try {
      let calendar = await requestDay(day);
      const shown = calendar.slotsStartDate;
      if (shown && shown === calendar.slotsEndDate && shown !== day) calendar = await requestDay(shown);
      applyCalendar(calendar);
      return true;
    } catch (error) {
      if (error.code === "noAppointmentForThisScope") {
        noAppointments();
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
      store.listDays = [];
      listNext = undefined;
      listCursor = null;
      const loaded = await loadCalendarFor(berlinDate());
      mergeListDays(store.availableDays);
      return loaded;
    },

    // A day tile (or a day of the list view) was chosen: one request for that day.
    async selectDay(day) {
      store.notice = null;
      store.selectedSlot = null;
      try {
        applyCalendar(await requestDay(day));
      } catch (error) {
        if (error.code === "noAppointmentForThisScope") return noAppointments();
        handleError(error);
      }
    },

    // The month chevrons do not step one month: they jump to the bookable day
    // before / after the painted months (and select it), skipping empty months.
    async jumpToBookableDate(direction) {
      if (store.loadingCalendar) return;
      const target = direction < 0 ? store.calendar?.prevBookableDate : store.calendar?.nextBookableDate;
      if (target) await this.selectDay(target);
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

    // List view "mehr laden": the next bookable day (or the first of the next
    // month), one request; its painted days are added to the list.
    async loadMore() {
      const last = store.listDays[store.listDays.length - 1]?.date || store.selectedDay || berlinDate();
      const target = listNext !== undefined ? listNext : store.calendar?.nextBookableDate;
      const day = target || firstOfNextMonth(listCursor && listCursor > last ? listCursor : last);
      listCursor = day;
      try {
        const calendar = await requestDay(day);
        mergeListDays(calendar.availableDays);
        listNext = calendar.nextBookableDate;
      } catch (error) {
        if (error.code !== "noAppointmentForThisScope") handleError(error);
        listNext = null;
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
        checkedOfficeIds: [], calendar: null, availableDays: [], listDays: [], selectedDay: null, slots: {}, selectedSlot: null,
        appointment: null, reservedAt: null, notice: null,
      });
    },
  };
}
