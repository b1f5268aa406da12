// Ids of the controls, and the replica's redesign variant (window.__ZMS_REPLICA_VARIANT__,
// set by the replica's page when a test renames controls to prove drift detection).
const DEFAULT_IDS = {
  serviceSearch: "service-search",
  officeCheckbox: "provider-",
  slotPrefix: "provider-",
  gridPrefix: "timeslot-grid-provider-",
  firstname: "firstname",
  lastname: "lastname",
  mailaddress: "mailaddress",
  telephonenumber: "telephonenumber",
  consent: "electronic-communication",
};

export function applyVariant(texts) {
  const variant = (typeof window !== "undefined" && window.__ZMS_REPLICA_VARIANT__) || {};
  Object.assign(texts, variant.labels || {});
  return { ...DEFAULT_IDS, ...(variant.ids || {}) };
}
