// One VM: what it is, where and how it runs, its disks with their replication state, its HA
// policy; and the actions a user can take, each shown only when the VM's state allows it.
import { APIError, get, post, remove } from "./api.js";
import { element, facts, section, table } from "./dom.js";
import { formatBytes, formatDate, formatNumber, t } from "./i18n.js";

// When each action makes sense (as the API checks it: VMAction.check).
const actions = {
  start: (phase, desired) => desired !== "running" || phase === "crashed" || phase === "failed",
  shutdown: (phase, desired) => desired !== "stopped" || hasProcess(phase),
  stop: (phase, desired) => desired !== "stopped" || hasProcess(phase),
  reboot: (phase, desired) => desired === "running" && phase === "running",
  // The API deletes only a VM without a running QEMU (stop it first).
  delete: (phase) => !hasProcess(phase),
};

function hasProcess(phase) {
  return ["starting", "running", "paused", "stopping"].includes(phase);
}

export function renderVMDetail(page, _query, name) {
  const buttons = element("div", { class: "actions", role: "group" });
  buttons.setAttribute("aria-label", t("vm.actions"));
  const message = element("p", { id: "vm-message", role: "status" });
  const content = element("div", {});
  page.replaceChildren(element("h1", {}, name), buttons, message, content);

  let view;
  const run = async (label, work) => {
    message.textContent = t("vm.working", { action: label });
    message.className = "";
    try {
      await work();
      message.textContent = t("vm.done", { action: label });
    } catch (error) {
      message.textContent = error instanceof APIError ? error.message : String(error);
      message.className = "error";
    }
    await update();
  };
  const path = `/vms/${encodeURIComponent(name)}`;
  for (const action of ["start", "shutdown", "stop", "reboot"]) {
    const button = element("button", { type: "button", "data-action": action }, t(`action.${action}`));
    button.addEventListener("click", () =>
      run(t(`action.${action}`), () => post(`${path}/${action}`)),
    );
    buttons.append(button);
  }
  const deletion = element("button", { type: "button", "data-action": "delete", class: "danger" }, t("action.delete"));
  deletion.addEventListener("click", () => {
    if (!confirm(t("vm.delete.confirm", { name }))) return;
    run(t("action.delete"), async () => {
      await remove(path);
      location.hash = "#/vms";
    });
  });
  buttons.append(deletion);

  let shown = "";
  const update = async () => {
    view = await get(path);
    for (const button of buttons.querySelectorAll("button[data-action]")) {
      const allowed = actions[button.dataset.action];
      button.disabled = allowed ? !allowed(view.status.phase, view.vm.desired) : false;
    }
    const key = JSON.stringify(view);
    if (key === shown) return;
    shown = key;
    content.replaceChildren(
      section("vm.section.status", facts("vm-status", statusFacts(view))),
      section("vm.section.spec", facts("vm-spec", specFacts(view.vm))),
      section("vm.section.disks", diskTable(view)),
      section("vm.section.ha", facts("vm-ha", haFacts(view.vm))),
    );
  };
  return update;
}

function statusFacts(view) {
  const status = view.status;
  return [
    ["vm.state", t(`phase.${status.phase}`)],
    ["vm.node", status.node ?? view.vm.node ?? "—"],
    ["vm.accelerator", status.accelerator ?? "—"],
    ["vm.started", status.startedAt ? formatDate(status.startedAt) : "—"],
    ["vm.error", status.lastError ?? "—"],
  ];
}

function specFacts(vm) {
  return [
    ["vm.cpus", formatNumber(vm.spec.cpus)],
    ["vm.memory", formatBytes(vm.spec.memoryMiB * 1048576)],
    ["vm.os", vm.spec.osType],
    ["vm.image", vm.image ?? "—"],
    ["vm.nics", formatNumber(vm.spec.nics.length)],
  ];
}

function haFacts(vm) {
  if (!vm.ha?.enabled) return [["vm.ha", t("vm.ha.off")]];
  return [
    ["vm.ha", t("vm.ha.on")],
    ["vm.ha.priority", formatNumber(vm.ha.priority ?? 0)],
  ];
}

function diskTable(view) {
  const replication = view.replication;
  const rows = view.vm.spec.disks.map((disk) => {
    const copy = replication?.disks?.[disk.name];
    return [
      disk.name,
      disk.pool,
      formatBytes(disk.sizeBytes),
      copy
        ? t("disk.replica", {
            state: t(`replica.${copy.state}`),
            primary: replication.primary,
            secondary: replication.secondary ?? "—",
          })
        : "—",
    ];
  });
  return table("vm-disks", ["disk.name", "disk.pool", "disk.size", "disk.replication"], rows);
}
