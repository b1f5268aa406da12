// Registers the city's nesting of custom elements:
// zms-appointment (open shadow root) → zms-appointment-i18n-host (open shadow
// root with only a <slot>) → slotted zms-appointment-wrapped (open shadow root
// holding the app).
import { defineCustomElement, h } from "vue";
import "altcha";
import designCss from "@muenchen/muc-patternlab-vue/style.css?inline";
import altchaCss from "altcha/altcha.css?inline";
import appCss from "./app.css?inline";
import App from "./App.vue";

const I18nHost = defineCustomElement({
  render: () => h("slot"),
});

const Wrapped = defineCustomElement({ ...App, styles: [designCss, altchaCss, appCss] });

const Appointment = defineCustomElement({
  props: { baseUrl: String, showLoginOption: String },
  render() {
    return h("zms-appointment-i18n-host", null, [h("zms-appointment-wrapped", { baseUrl: this.baseUrl })]);
  },
});

for (const [tag, element] of [
  ["zms-appointment-i18n-host", I18nHost],
  ["zms-appointment-wrapped", Wrapped],
  ["zms-appointment", Appointment],
]) {
  if (!customElements.get(tag)) customElements.define(tag, element);
}
