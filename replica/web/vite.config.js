// Builds the replica's web component as one classic script, like the city's
// loader.js: dist/zms-appointment-webcomponent/loader.js
import { defineConfig } from "vite";
import vue from "@vitejs/plugin-vue";

const isCustomElement = (tag) => tag.startsWith("zms-") || tag.startsWith("altcha-");

export default defineConfig({
  plugins: [vue({ template: { compilerOptions: { isCustomElement } } })],
  define: { "process.env.NODE_ENV": JSON.stringify("production") },
  build: {
    outDir: "dist/zms-appointment-webcomponent",
    emptyOutDir: true,
    sourcemap: false,
    lib: {
      entry: "src/main.js",
      name: "ZmsAppointment",
      formats: ["iife"],
      fileName: () => "loader.js",
    },
  },
});
