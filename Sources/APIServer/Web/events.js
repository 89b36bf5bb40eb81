// The event log: what happened in the cluster, newest first, filtered by level, kind and a
// search over VM, node and text. The filter lives in the address; each event's kind is named in
// the chosen language, its details are the server's message.
import { get } from "./api.js";
import { choice, element, filterInAddress, link, option, table } from "./dom.js";
import { formatDate, formatNumber, t } from "./i18n.js";

const fetched = 500;

export function renderEvents(page, query) {
  const form = element("form", { id: "event-filter", class: "filters", role: "search" });
  const text = element("input", { type: "search", name: "q", value: query.get("q") ?? "" });
  text.setAttribute("aria-label", t("events.filter.text"));
  text.placeholder = t("events.filter.text");
  const level = choice("level", query.get("level") ?? "", t("events.filter.any-level"));
  for (const value of ["error", "warning", "info"]) level.append(option(value, t(`level.${value}`), query.get("level")));
  const kind = choice("kind", query.get("kind") ?? "", t("events.filter.any-kind"));
  form.append(text, level, kind);
  const summary = element("p", { id: "events-summary", class: "hint" });
  const content = element("div", {});
  page.replaceChildren(element("h1", {}, t("events.title")), form, summary, content);

  let events = [];
  let shown = "";
  const draw = () => {
    const filter = Object.fromEntries(new FormData(form));
    const words = (filter.q ?? "").toLowerCase();
    const matching = events.filter(
      (event) =>
        (!filter.level || event.level === filter.level) &&
        (!filter.kind || event.kind === filter.kind) &&
        (!words || [event.vm, event.node, event.message, kindName(event.kind)].some((value) => value?.toLowerCase().includes(words))),
    );
    const key = JSON.stringify([filter, events.at(-1)?.id, events.length]);
    if (key === shown) return;
    shown = key;
    summary.textContent = t("events.shown", { shown: formatNumber(matching.length), total: formatNumber(events.length) });
    content.replaceChildren(
      matching.length === 0
        ? element("p", { id: "events-empty" }, t("events.none"))
        : eventTable("event-log", [...matching].reverse(), true),
    );
  };
  filterInAddress(form, "#/events", draw);

  return async () => {
    events = await get(`/events?limit=${fetched}`);
    const kinds = [...new Set(events.map((event) => event.kind))].sort();
    const known = [...kind.options].slice(1).map((entry) => entry.value);
    for (const name of kinds) if (!known.includes(name)) kind.append(option(name, kindName(name), query.get("kind")));
    draw();
  };
}

// An event kind in the chosen language (the kind itself when it has no translation yet).
export function kindName(kind) {
  const name = t(`kind.${kind}`);
  return name === `kind.${kind}` ? kind : name;
}

// Events (newest first) as a table; the log adds their level.
export function eventTable(id, events, withLevel = false) {
  const rows = events.map((event) => [
    formatDate(event.time),
    ...(withLevel ? [element("span", { class: `level level-${event.level}` }, t(`level.${event.level}`))] : []),
    kindName(event.kind),
    event.vm ? link(`#/vms/${encodeURIComponent(event.vm)}`, event.vm) : event.node ? link(`#/nodes/${encodeURIComponent(event.node)}`, event.node) : "",
    event.message,
  ]);
  const headers = ["event.time", ...(withLevel ? ["event.level"] : []), "event.kind", "event.subject", "event.message"];
  return table(id, headers, rows);
}
