// One node: its load over time, its capacity and what is allocated, its storage pools, the VMs
// it runs, and maintenance (enter moves its VMs away; exit can bring them back).
import { errorText, get, post } from "./api.js";
import { element, facts, link, section, table } from "./dom.js";
import { formatBytes, formatNumber, t } from "./i18n.js";
import { chartMinutes, loadCharts } from "./charts.js";

export function renderNodeDetail(page, _query, name) {
  const buttons = element("div", { class: "actions", role: "group" });
  const message = element("p", { id: "node-message", role: "status" });
  const content = element("div", {});
  const charts = loadCharts("node-charts", "node");
  page.replaceChildren(
    element("h1", {}, name), buttons, message, section("chart.title", charts.element), content);
  const path = `/nodes/${encodeURIComponent(name)}`;
  const enter = element("button", { type: "button", "data-action": "enter" }, t("node.maintenance.enter"));
  const leave = element("button", { type: "button", "data-action": "exit" }, t("node.maintenance.exit"));
  buttons.append(enter, leave);

  let shown = "";
  const update = async () => {
    const [view, vms, load] = await Promise.all([
      get(path),
      get("/vms"),
      get(`${path}/metrics?minutes=${chartMinutes}`).catch(() => ({ samples: [] })),
    ]);
    charts.update(load);
    enter.disabled = view.node.maintenance;
    leave.disabled = !view.node.maintenance;
    const here = vms.filter((entry) => entry.vm.node === name);
    const key = JSON.stringify([view, here.map((entry) => [entry.vm.name, entry.status.phase])]);
    if (key === shown) return;
    shown = key;
    content.replaceChildren(
      section("node.section.capacity", facts("node-facts", capacity(view))),
      section("node.section.pools", pools(view.node.pools)),
      section("node.section.vms", vmTable(here)),
    );
  };
  const run = async (work) => {
    message.className = "";
    message.textContent = "";
    try {
      await work();
    } catch (error) {
      message.className = "error";
      message.textContent = errorText(error);
    }
    await update();
  };
  enter.addEventListener("click", () => {
    if (confirm(t("node.maintenance.confirm", { name }))) {
      run(() => post(`${path}/maintenance/enter`));
    }
  });
  leave.addEventListener("click", () => run(() => post(`${path}/maintenance/exit`, { moveBack: true })));
  return update;
}

function capacity(view) {
  return [
    ["node.state", t(`node.state.${view.state}`)],
    ["node.address", view.node.address],
    ["node.accelerator", `${view.node.accelerator} (${view.node.acceleratorReason})`],
    ["node.qemu", view.node.qemuVersion],
    ["node.bridges", view.node.bridges?.length ? view.node.bridges.join(", ") : t("node.bridges.none")],
    ["node.cpus", t("node.used", { used: formatNumber(view.allocatedCPUs), total: formatNumber(view.node.cpus) })],
    [
      "node.memory",
      t("node.used", {
        used: formatBytes(view.allocatedMemoryMiB * 1048576),
        total: formatBytes(view.node.memoryMiB * 1048576),
      }),
    ],
  ];
}

function pools(entries) {
  const rows = entries.map((pool) => [
    pool.name,
    pool.kind,
    t("pool.free", { free: formatBytes(pool.freeBytes), total: formatBytes(pool.capacityBytes) }),
  ]);
  return table("node-pools", ["pool.name", "pool.kind", "pool.space"], rows);
}

function vmTable(views) {
  if (views.length === 0) return element("p", {}, t("node.vms.none"));
  const rows = views.map((view) => [
    link(`#/vms/${encodeURIComponent(view.vm.name)}`, view.vm.name),
    t(`phase.${view.status.phase}`),
  ]);
  return table("node-vms", ["vm.name", "vm.state"], rows);
}
