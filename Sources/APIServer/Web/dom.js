// Small helpers to build the pages from data (strings become text, never HTML).
import { t } from "./i18n.js";

export function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

export function section(titleKey, ...content) {
  const block = element("section", {});
  block.append(element("h2", {}, t(titleKey)), ...content);
  return block;
}

// A table with translated column headers; a cell may be a string or an element.
export function table(id, headerKeys, rows) {
  const result = element("table", { id });
  const head = element("tr", {});
  for (const key of headerKeys) head.append(element("th", { scope: "col" }, t(key)));
  result.append(element("thead", {}, head));
  const body = element("tbody", {});
  for (const row of rows) {
    const line = element("tr", {});
    for (const cell of row) line.append(element("td", {}, cell));
    body.append(line);
  }
  result.append(body);
  return result;
}

export function link(href, text) {
  return element("a", { href }, text);
}

// A description list of translated labels and their values: [[labelKey, value], …].
export function facts(id, pairs) {
  const list = element("dl", { id });
  for (const [key, value] of pairs) list.append(element("dt", {}, t(key)), element("dd", {}, value));
  return list;
}

// A filter's <select> whose first option is "any".
export function choice(name, selected, anyLabel) {
  const select = element("select", { name });
  select.setAttribute("aria-label", anyLabel);
  select.append(option("", anyLabel, selected));
  return select;
}

export function option(value, label, selected) {
  const entry = element("option", { value }, label);
  entry.selected = value === (selected ?? "");
  return entry;
}

// Applies a filter form as it is typed in or chosen from, keeping its values in the address
// (`route?name=value…`) so the filtered page can be bookmarked.
export function filterInAddress(form, route, draw) {
  const filtered = () => {
    const search = new URLSearchParams(new FormData(form));
    for (const [key, value] of [...search]) if (!value) search.delete(key);
    history.replaceState(null, "", `${route}${search.size ? `?${search}` : ""}`);
    draw();
  };
  form.addEventListener("input", filtered);
  form.addEventListener("change", filtered);
  form.addEventListener("submit", (event) => event.preventDefault());
}
