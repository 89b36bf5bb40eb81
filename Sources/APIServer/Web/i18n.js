// Every visible string comes from locales/<language>.json; dates and numbers are formatted for
// the chosen language. The choice is remembered in the browser.
const supported = ["en", "ja"];
let language = "en";
let strings = {};

export async function loadLanguage(wanted) {
  const chosen = supported.includes(wanted) ? wanted : "en";
  const response = await fetch(`/ui/locales/${chosen}.json`);
  strings = await response.json();
  language = chosen;
  localStorage.setItem("kaze.language", chosen);
  document.documentElement.lang = chosen;
  for (const element of document.querySelectorAll("[data-i18n]")) {
    element.textContent = t(element.dataset.i18n);
  }
}

export function preferredLanguage() {
  const saved = localStorage.getItem("kaze.language");
  if (saved) return saved;
  return navigator.language?.startsWith("ja") ? "ja" : "en";
}

export function currentLanguage() {
  return language;
}

// The string for `key`, with {name} placeholders filled from `values`.
export function t(key, values = {}) {
  const text = strings[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(values[name] ?? ""));
}

export function formatNumber(value, options = {}) {
  return new Intl.NumberFormat(language, options).format(value);
}

export function formatDate(text) {
  return new Intl.DateTimeFormat(language, { dateStyle: "short", timeStyle: "medium" }).format(
    new Date(text),
  );
}

// Bytes in binary units (MiB, GiB), with the locale's digits.
export function formatBytes(bytes) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${formatNumber(value, { maximumFractionDigits: 1 })} ${units[unit]}`;
}
