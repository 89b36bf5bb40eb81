// The Kaze web UI: plain ES modules talking to the same REST API as the CLI (/api/v1).
// Each page builds its fixed parts once (headings, forms, buttons) and returns `update`, which
// the app calls at once and then every two seconds: no page needs a reload to show what changed,
// and a form being filled in is never rebuilt under the user's hands. A page's `update.leave`,
// when it has one, runs when the user goes to another page.
import { loadLanguage, preferredLanguage } from "./i18n.js";
import { renderDashboard } from "./dashboard.js";
import { renderVMList } from "./vms.js";
import { renderVMDetail } from "./vm.js";
import { renderCreateVM } from "./create.js";
import { renderNodeDetail } from "./node.js";
import { renderTasks } from "./tasks.js";
import { renderEvents } from "./events.js";
import { renderDisplayConsole, renderSerialConsole } from "./consoles.js";

const routes = [
  [/^$/, renderDashboard],
  [/^vms$/, renderVMList],
  [/^vms\/([^/]+)$/, renderVMDetail],
  [/^vms\/([^/]+)\/console$/, renderSerialConsole],
  [/^vms\/([^/]+)\/display$/, renderDisplayConsole],
  [/^create$/, renderCreateVM],
  [/^nodes\/([^/]+)$/, renderNodeDetail],
  [/^tasks$/, renderTasks],
  [/^events$/, renderEvents],
];
const refreshMilliseconds = 2000;
let generation = 0;
let leave = null; // what the current page does when the user leaves it (close its sockets)

async function show() {
  const current = ++generation;
  const [path, search] = location.hash.replace(/^#\/?/, "").split("?");
  const query = new URLSearchParams(search ?? "");
  const [pattern, render] = routes.find(([pattern]) => pattern.test(path)) ?? routes[0];
  const parameters = (path.match(pattern) ?? []).slice(1).map(decodeURIComponent);
  const page = document.getElementById("page");
  page.replaceChildren();
  for (const link of document.querySelectorAll("nav a")) {
    link.toggleAttribute("aria-current", link.getAttribute("href") === `#/${path.split("/")[0]}`);
  }
  leave?.();
  const update = render(page, query, ...parameters);
  leave = update.leave;
  while (current === generation) {
    try {
      await update();
      page.removeAttribute("data-error");
    } catch (error) {
      page.dataset.error = String(error);
    }
    await new Promise((resolve) => setTimeout(resolve, refreshMilliseconds));
  }
}

const picker = document.getElementById("language");
picker.value = preferredLanguage();
picker.addEventListener("change", async () => {
  await loadLanguage(picker.value);
  show();
});
window.addEventListener("hashchange", show);
await loadLanguage(picker.value);
show();
