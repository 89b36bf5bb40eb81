// One VM: what it is, where and how it runs, its disks with their replication state, its HA
// policy, its load over time, its live migration; the actions a user can take, each enabled only when the VM's state
// allows it; and links to its consoles.
import { APIError, errorText, get, post, remove } from "./api.js";
import { element, facts, link, section, table } from "./dom.js";
import { formatBytes, formatDate, formatNumber, t } from "./i18n.js";
import { chartMinutes, loadCharts } from "./charts.js";

// When each action makes sense (as the API checks it: VMAction.check).
const actions = {
  start: (phase, desired) => desired !== "running" || phase === "crashed" || phase === "failed",
  shutdown: (phase, desired) => desired !== "stopped" || hasProcess(phase),
  stop: (phase, desired) => desired !== "stopped" || hasProcess(phase),
  reboot: (phase, desired) => desired === "running" && phase === "running",
  migrate: (phase, desired, migrating) => phase === "running" && !migrating,
  // The API deletes only a VM without a running QEMU (stop it first).
  delete: (phase) => !hasProcess(phase),
};

// Whether a QEMU exists for a VM in this phase (VMPhase.hasProcess).
export function hasProcess(phase) {
  return ["starting", "running", "paused", "stopping"].includes(phase);
}

export function renderVMDetail(page, _query, name) {
  const buttons = element("div", { class: "actions", role: "group" });
  buttons.setAttribute("aria-label", t("vm.actions"));
  const message = element("p", { id: "vm-message", role: "status" });
  const content = element("div", {});
  const target = element("select", { id: "migrate-target" });
  const migration = element("div", { id: "vm-migration" });
  const consoles = element("p", { class: "actions" },
    link(`#/vms/${encodeURIComponent(name)}/console`, t("vm.console.serial")),
    link(`#/vms/${encodeURIComponent(name)}/display`, t("vm.console.display")));
  const charts = loadCharts("vm-charts", "vm");
  page.replaceChildren(
    element("h1", {}, name), buttons, message, consoles, migration,
    section("chart.title", charts.element), content);

  let view;
  const run = async (label, work) => {
    message.textContent = t("vm.working", { action: label });
    message.className = "";
    try {
      await work();
      message.textContent = t("vm.done", { action: label });
    } catch (error) {
      message.textContent = errorText(error);
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
  const migrate = element("button", { type: "button", "data-action": "migrate" }, t("action.migrate"));
  migrate.addEventListener("click", () =>
    run(t("action.migrate"), () => post(`${path}/migrate`, target.value ? { to: target.value } : {})),
  );
  buttons.append(element("label", { for: "migrate-target" }, t("vm.migrate.to")), target, migrate);

  let shown = "";
  let shownMigration = "";
  const update = async () => {
    // The VM's migration record is its latest one (none: 404).
    const [current, nodes, latest] = await Promise.all([
      get(path),
      get("/nodes"),
      get(`${path}/migration`).catch((error) => {
        if (error instanceof APIError && error.code === "notFound") return undefined;
        throw error;
      }),
    ]);
    view = current;
    charts.update(
      hasProcess(view.status.phase)
        ? await get(`${path}/metrics?minutes=${chartMinutes}`).catch(() => ({ samples: [] }))
        : { samples: [] },
    );
    const migrating = latest !== undefined && !["completed", "failed"].includes(latest.state);
    for (const button of buttons.querySelectorAll("button[data-action]")) {
      const allowed = actions[button.dataset.action];
      button.disabled = allowed ? !allowed(view.status.phase, view.vm.desired, migrating) : false;
    }
    fillTargets(target, nodes, view.vm.node);
    const migrationKey = JSON.stringify(latest ?? null);
    if (migrationKey !== shownMigration) {
      shownMigration = migrationKey;
      migration.replaceChildren(...(latest ? [migrationLine(latest)] : []));
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
    ["vm.nics", vm.spec.nics.length ? vm.spec.nics.map(network).join(", ") : "—"],
    ["vm.pointer", t(vm.spec.tablet ? "vm.pointer.tablet" : "vm.pointer.mouse")],
  ];
}

// A NIC's network as the create form names it: user, or the bridge it joins.
function network(nic) {
  const bridge = nic.kind?.bridge?._0;
  return bridge ? t("vm.nic.bridge", { name: bridge }) : t("vm.nic.user");
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

// The nodes a VM could move to (online, not in maintenance, not its own), after "automatic".
function fillTargets(select, nodes, current) {
  const names = nodes
    .filter((view) => view.state === "online" && view.node.name !== current)
    .map((view) => view.node.name);
  const wanted = ["", ...names];
  const have = [...select.options].map((option) => option.value);
  if (JSON.stringify(wanted) === JSON.stringify(have)) return;
  const chosen = select.value;
  select.replaceChildren(
    element("option", { value: "" }, t("vm.migrate.automatic")),
    ...names.map((name) => element("option", { value: name }, name)),
  );
  if (wanted.includes(chosen)) select.value = chosen;
}

// The VM's latest migration: a progress bar while it runs, its outcome after.
function migrationLine(move) {
  const values = { source: move.source, target: move.target };
  if (move.state === "completed") {
    return element("p", { "data-state": move.state }, t("migration.completed", {
      ...values,
      downtime: formatNumber(move.progress.downtimeMs ?? 0),
      seconds: formatNumber((move.progress.totalTimeMs ?? 0) / 1000, { maximumFractionDigits: 1 }),
    }));
  }
  if (move.state === "failed") {
    return element("p", { "data-state": move.state, class: "error" }, t("migration.failed", { ...values, error: move.error ?? "" }));
  }
  const fraction = (move.progress.percent ?? 0) / 100;
  const bar = element("progress", { max: "100", value: String(Math.round(fraction * 100)) });
  bar.setAttribute("aria-label", t("task.progress"));
  return element("p", { "data-state": move.state, class: "progress" },
    t("migration.running", values), bar, ` ${formatNumber(fraction, { style: "percent" })}`);
}
