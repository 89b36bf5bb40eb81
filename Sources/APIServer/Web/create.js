// The create-VM form. The API checks every value; its message is shown next to the field it
// names (`field` in the error reply), and nothing is created until every value is right.
import { APIError, errorText, get, post } from "./api.js";
import { element } from "./dom.js";
import { t } from "./i18n.js";

// Form inputs by the API field their errors name (a prefix: `nics[0].network` → the network).
const fields = [
  ["name", "name"],
  ["image", "image"],
  ["cpus", "cpus"],
  ["memoryMiB", "memoryMiB"],
  ["disks[0].size", "diskSize"],
  ["disks[0].pool", "diskPool"],
  ["nics", "network"],
  ["osType", "osType"],
  ["ha", "ha"],
];

export function renderCreateVM(page) {
  const form = element("form", { id: "create-vm", class: "form", novalidate: "" });
  const status = element("p", { id: "create-message", role: "status" });
  page.replaceChildren(element("h1", {}, t("create.title")), form, status);

  const image = element("select", { name: "image", id: "field-image" });
  const pool = element("select", { name: "diskPool", id: "field-diskPool" });
  pool.append(element("option", { value: "" }, t("create.pool.image")));
  form.append(
    row("name", element("input", { name: "name", id: "field-name", autocomplete: "off" })),
    row("image", image),
    row("cpus", element("input", { name: "cpus", id: "field-cpus", value: "1", inputmode: "numeric" })),
    row(
      "memoryMiB",
      element("input", { name: "memoryMiB", id: "field-memoryMiB", value: "512", inputmode: "numeric" }),
    ),
    row("diskSize", element("input", { name: "diskSize", id: "field-diskSize", value: "10G" })),
    row("diskPool", pool),
    row("network", choices("network", [["user", t("create.network.user")]])),
    row("osType", choices("osType", ["linux", "windows", "other"].map((os) => [os, t(`os.${os}`)]))),
    check("ha"),
    check("start", true),
    element("button", { type: "submit", id: "create-submit" }, t("create.submit")),
  );

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    for (const message of form.querySelectorAll(".field-error")) message.textContent = "";
    status.className = "";
    status.textContent = t("create.working");
    const values = Object.fromEntries(new FormData(form));
    try {
      const view = await post("/vms", request(values));
      location.hash = `#/vms/${encodeURIComponent(view.vm.name)}`;
    } catch (error) {
      status.className = "error";
      status.textContent = error instanceof APIError ? t("create.refused") : String(error);
      const match = error instanceof APIError && error.field
        ? fields.find(([field]) => error.field.startsWith(field))
        : undefined;
      const target = match ? form.querySelector(`#error-${match[1]}`) : undefined;
      if (target) {
        target.textContent = errorText(error);
        form.querySelector(`#field-${match[1]}`)?.focus();
      } else {
        status.textContent = errorText(error);
      }
    }
  });

  return async () => {
    if (image.options.length > 0) return;
    const [images, nodes] = await Promise.all([get("/images"), get("/nodes")]);
    for (const entry of images) image.append(element("option", { value: entry.name }, entry.name));
    const pools = [...new Set(nodes.flatMap((view) => view.node.pools.map((p) => p.name)))].sort();
    for (const name of pools) pool.append(element("option", { value: name }, name));
  };
}

// The API's request from the form's values; numbers the user typed stay as typed when they are
// not numbers, so the API names what is wrong with them.
function request(values) {
  const number = (text) => (/^\d+$/.test(text.trim()) ? Number(text) : text);
  const body = {
    name: values.name,
    image: values.image,
    cpus: number(values.cpus),
    memoryMiB: number(values.memoryMiB),
    disks: [{ size: values.diskSize, ...(values.diskPool ? { pool: values.diskPool } : {}) }],
    nics: [{ network: values.network }],
    osType: values.osType,
    start: values.start === "on",
  };
  if (values.ha === "on") body.ha = { enabled: true };
  return body;
}

function row(key, input) {
  const label = element("label", { for: input.id }, t(`create.${key}`));
  const error = element("span", { class: "field-error", id: `error-${key}`, "aria-live": "polite" });
  input.setAttribute("aria-describedby", error.id);
  return element("div", { class: "field" }, label, input, error);
}

function check(key, checked = false) {
  const box = element("input", { type: "checkbox", name: key, id: `field-${key}` });
  box.checked = checked;
  const error = element("span", { class: "field-error", id: `error-${key}` });
  return element(
    "div",
    { class: "field" },
    element("label", { for: box.id }, box, " ", t(`create.${key}`)),
    error,
  );
}

function choices(name, options) {
  const select = element("select", { name, id: `field-${name}` });
  for (const [value, label] of options) select.append(element("option", { value }, label));
  return select;
}
