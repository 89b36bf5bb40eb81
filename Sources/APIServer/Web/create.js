// The create-VM form. The API checks every value; its message is shown next to the field it
// names (`field` in the error reply), and nothing is created until every value is right.
import { APIError, errorText, get, post } from "./api.js";
import { element } from "./dom.js";
import { t } from "./i18n.js";

// Form inputs by the API field their errors name (a prefix: `nics[0].network` → the network).
// Disk N's inputs are `diskSize`/`diskPool` for the first disk and `diskSize-N`/`diskPool-N`
// for the ones added with "Add a disk".
const fields = [
  ["name", "name"],
  ["image", "image"],
  ["cpus", "cpus"],
  ["memoryMiB", "memoryMiB"],
  ["nics", "network"],
  ["osType", "osType"],
  ["ha", "ha"],
  ["tablet", "tablet"],
];

function diskKey(name, index) {
  return index === 0 ? name : `${name}-${index}`;
}

// The input an error's field names: `disks[1].pool` → the pool of the form's second disk (its
// number in `order`: a removed disk leaves a gap).
function inputFor(field, order) {
  const disk = field.match(/^disks\[(\d+)\]\.(size|pool)/);
  if (disk) return diskKey(disk[2] === "size" ? "diskSize" : "diskPool", order[Number(disk[1])] ?? 0);
  return fields.find(([prefix]) => field.startsWith(prefix))?.[1];
}

export function renderCreateVM(page) {
  const form = element("form", { id: "create-vm", class: "form", novalidate: "" });
  const status = element("p", { id: "create-message", role: "status" });
  page.replaceChildren(element("h1", {}, t("create.title")), form, status);

  const image = element("select", { name: "image", id: "field-image" });
  const network = choices("network", [["user", t("create.network.user")]]);
  const disks = element("fieldset", { id: "create-disks", class: "disks" });
  disks.append(element("legend", {}, t("create.disks")));
  let pools = [];
  let diskCount = 0;
  const addDisk = () => {
    const index = diskCount++;
    const pool = element("select", { name: diskKey("diskPool", index), id: `field-${diskKey("diskPool", index)}` });
    pool.append(element("option", { value: "" }, t("create.pool.image")));
    for (const name of pools) pool.append(element("option", { value: name }, name));
    const size = element("input", { name: diskKey("diskSize", index), id: `field-${diskKey("diskSize", index)}`, value: index === 0 ? "10G" : "" });
    const group = element("div", { class: "disk", "data-disk": String(index) },
      row("diskSize", size, index), row("diskPool", pool, index));
    if (index > 0) {
      const removal = element("button", { type: "button", class: "remove-disk" }, t("create.disk.remove"));
      removal.addEventListener("click", () => group.remove());
      group.append(removal);
    }
    disks.insertBefore(group, more);
  };
  const more = element("button", { type: "button", id: "add-disk" }, t("create.disk.add"));
  more.addEventListener("click", addDisk);
  disks.append(more);
  addDisk();
  form.append(
    row("name", element("input", { name: "name", id: "field-name", autocomplete: "off" })),
    row("image", image),
    row("cpus", element("input", { name: "cpus", id: "field-cpus", value: "1", inputmode: "numeric" })),
    row(
      "memoryMiB",
      element("input", { name: "memoryMiB", id: "field-memoryMiB", value: "512", inputmode: "numeric" }),
    ),
    disks,
    row("network", network),
    row("osType", choices("osType", ["linux", "windows", "other"].map((os) => [os, t(`os.${os}`)]))),
    check("ha"),
    check("tablet", true),
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
      const key =
        error instanceof APIError && error.field ? inputFor(error.field, diskIndexes(values)) : undefined;
      const target = key ? form.querySelector(`#error-${key}`) : undefined;
      if (target) {
        target.textContent = errorText(error);
        form.querySelector(`#field-${key}`)?.focus();
      } else {
        status.textContent = errorText(error);
      }
    }
  });

  return async () => {
    if (image.options.length > 0) return;
    const [images, nodes] = await Promise.all([get("/images"), get("/nodes")]);
    for (const entry of images) image.append(element("option", { value: entry.name }, entry.name));
    pools = [...new Set(nodes.flatMap((view) => view.node.pools.map((p) => p.name)))].sort();
    for (const select of form.querySelectorAll("select[name^=diskPool]")) {
      for (const name of pools) select.append(element("option", { value: name }, name));
    }
    for (const [bridge, owners] of bridges(nodes)) {
      const label = t("create.network.bridge", { name: bridge, nodes: owners.join(", ") });
      network.append(element("option", { value: `bridge:${bridge}` }, label));
    }
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
    disks: diskIndexes(values).map((index) => {
      const pool = values[diskKey("diskPool", index)];
      return { size: values[diskKey("diskSize", index)], ...(pool ? { pool } : {}) };
    }),
    nics: [{ network: values.network }],
    osType: values.osType,
    start: values.start === "on",
    tablet: values.tablet === "on",
  };
  if (values.ha === "on") body.ha = { enabled: true };
  return body;
}

// The Linux bridges the nodes report, each with the nodes that have it (a VM on a bridge runs
// only there), sorted by name.
function bridges(nodes) {
  const owners = new Map();
  for (const view of nodes) {
    for (const bridge of view.node.bridges ?? []) {
      owners.set(bridge, [...(owners.get(bridge) ?? []), view.node.name].sort());
    }
  }
  return [...owners.entries()].sort(([a], [b]) => a.localeCompare(b));
}

// The disks the form holds, in order (a removed disk leaves a gap in the numbers).
function diskIndexes(values) {
  return Object.keys(values)
    .map((name) => name.match(/^diskSize(?:-(\d+))?$/))
    .filter(Boolean)
    .map((match) => Number(match[1] ?? 0))
    .sort((a, b) => a - b);
}

function row(key, input, index = 0) {
  const label = element("label", { for: input.id }, t(`create.${key}`, { number: index + 1 }));
  const error = element("span", { class: "field-error", id: `error-${diskKey(key, index)}`, "aria-live": "polite" });
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
