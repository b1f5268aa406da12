// Client of the city's JSON API. Every call goes to <base-url>/api/citizen/<endpoint>/.
export class ApiError extends Error {
  constructor(status, errors) {
    super(errors?.[0]?.errorCode || `HTTP ${status}`);
    this.status = status;
    this.errors = errors || [];
    this.code = this.errors[0]?.errorCode || (status === 0 ? "networkError" : `http${status}`);
  }
}

export function createApi(baseUrl) {
  const root = `${(baseUrl || "").replace(/\/$/, "")}/api/citizen/`;
  const inFlight = new Map();

  async function call(method, endpoint, { query, body } = {}) {
    let url = root + endpoint;
    if (query) url += "?" + new URLSearchParams(query).toString();
    let response;
    try {
      response = await fetch(url, {
        method,
        headers: body ? { "Content-Type": "application/json" } : undefined,
        body: body ? JSON.stringify(body) : undefined,
      });
    } catch (error) {
      throw new ApiError(0, [{ errorCode: "networkError", errorMessage: String(error) }]);
    }
    let data = null;
    try {
      data = await response.json();
    } catch {
      data = null;
    }
    if (!response.ok || (data && Array.isArray(data.errors))) {
      throw new ApiError(response.status, data?.errors);
    }
    return data;
  }

  return {
    root,
    officesAndServices: (serviceId, locationId) =>
      call("GET", "offices-and-services/", serviceId ? { query: { serviceId, ...(locationId ? { locationId } : {}) } } : {}),
    captchaDetails: () => call("GET", "captcha-details/"),
    // Identical in-flight calendar requests are sent once (as the city's client does).
    availableCalendar(query) {
      const key = JSON.stringify(query);
      if (!inFlight.has(key)) {
        const pending = call("GET", "available-calendar/", { query }).finally(() => inFlight.delete(key));
        inFlight.set(key, pending);
      }
      return inFlight.get(key);
    },
    reserve: (body) => call("POST", "reserve-appointment/", { body }),
    update: (body) => call("POST", "update-appointment/", { body }),
    preconfirm: (body) => call("POST", "preconfirm-appointment/", { body }),
    confirm: (body) => call("POST", "confirm-appointment/", { body }),
    appointment: (query) => call("GET", "appointment/", { query }),
    cancel: (body) => call("POST", "cancel-appointment/", { body }),
  };
}

// Base64 of {"id": processId, "authKey": "..."} in activation and manage links (padding optional).
export function decodeLink(b64) {
  const padded = b64 + "=".repeat((4 - (b64.length % 4)) % 4);
  const data = JSON.parse(atob(padded));
  return { processId: Number(data.id), authKey: String(data.authKey) };
}

const DAY = new Intl.DateTimeFormat("en-CA", { timeZone: "Europe/Berlin", year: "numeric", month: "2-digit", day: "2-digit" });
const TIME = new Intl.DateTimeFormat("de-DE", { timeZone: "Europe/Berlin", hour: "2-digit", minute: "2-digit" });
const LONG_DAY = new Intl.DateTimeFormat("de-DE", { timeZone: "Europe/Berlin", weekday: "long", day: "numeric", month: "long", year: "numeric" });

// Dates and times are always those of Munich, whatever the machine's timezone.
export const berlinDate = (date = new Date()) => DAY.format(date);
export const berlinTime = (unixSeconds) => TIME.format(new Date(unixSeconds * 1000));
export const berlinHour = (unixSeconds) => Number(berlinTime(unixSeconds).slice(0, 2));
export const longDay = (isoDate) => LONG_DAY.format(new Date(`${isoDate}T12:00:00Z`));
export function addMonths(isoDate, months) {
  const d = new Date(`${isoDate}T12:00:00Z`);
  d.setUTCMonth(d.getUTCMonth() + months);
  return d.toISOString().slice(0, 10);
}
export function firstOfNextMonth(isoDate) {
  const d = new Date(`${isoDate.slice(0, 7)}-01T12:00:00Z`);
  d.setUTCMonth(d.getUTCMonth() + 1);
  return d.toISOString().slice(0, 10);
}
// A calendar Date (local midnight, as MucCalendar uses) <-> YYYY-MM-DD
export const isoOfLocalDate = (d) =>
  `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
export const localDateOfIso = (iso) => {
  const [y, m, d] = iso.split("-").map(Number);
  return new Date(y, m - 1, d);
};
