// The Kaze web UI: plain ES modules talking to the same REST API as the CLI (/api/v1).
import { loadLanguage, preferredLanguage } from "./i18n.js";
import { renderDashboard } from "./dashboard.js";

const pages = { "": renderDashboard };
const refreshMilliseconds = 2000;
let timer;

async function show() {
  clearTimeout(timer);
  const route = location.hash.replace(/^#\/?/, "").split("/")[0];
  const render = pages[route] ?? renderDashboard;
  const page = document.getElementById("page");
  try {
    await render(page);
    page.removeAttribute("data-error");
  } catch (error) {
    page.dataset.error = String(error);
  }
  // No page needs a reload to show what changed.
  timer = setTimeout(show, refreshMilliseconds);
}

const picker = document.getElementById("language");
picker.value = preferredLanguage();
picker.addEventListener("change", async () => {
  await loadLanguage(picker.value);
  await show();
});
window.addEventListener("hashchange", show);
await loadLanguage(picker.value);
await show();
