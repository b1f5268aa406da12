// The booking state shared by the steps of the app.
import { reactive } from "vue";

export function createStore() {
  return reactive({
    loaded: false,
    offices: [],
    services: [],
    relations: [],
    service: null, // {id, name, maxQuantity, ...}
    count: 1,
    preselectedServiceId: null,
    preselectedOfficeId: null,
    exclusiveLocation: false,
    captchaToken: null,
    captchaValid: false,
    step: 0, // 0 Leistung, 1 Termin, 2 Kontakt, 3 Übersicht, 4 done
    selectableOfficeIds: [],
    checkedOfficeIds: [],
    calendar: null, // last available-calendar answer
    availableDays: [], // [{date, providerIDs}] of the painted month(s)
    listDays: [], // days shown by the list view ("mehr laden" adds more)
    calendarVersion: 0, // bumped per calendar answer (re-renders the calendar on its month)
    loadingCalendar: false,
    selectedDay: null, // "YYYY-MM-DD"
    slots: {}, // officeId -> [unix seconds] for selectedDay
    selectedSlot: null, // {officeId, timestamp}
    appointment: null, // process from the API
    reservedAt: null, // ms, client time
    notice: null, // {type: 'error'|'warning'|'info', text}
    page: null, // null | 'maintenance' | 'failure'
    rateLimited: false,
  });
}

export function officesForService(store, serviceId) {
  const ids = store.relations.filter((r) => String(r.serviceId) === String(serviceId)).map((r) => r.officeId);
  return store.offices.filter((o) => ids.includes(o.id)).sort((a, b) => a.id - b.id);
}

export function officeById(store, id) {
  return store.offices.find((o) => String(o.id) === String(id));
}
