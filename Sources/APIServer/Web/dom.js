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
