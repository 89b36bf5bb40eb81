// The dashboard: the cluster's health (quorum, leader, each store member), nodes with their
// CPU and memory use and what is allocated on them, VMs by state, recent events.
import { get } from "./api.js";
import { element, facts, link, section, table } from "./dom.js";
import { formatBytes, formatNumber, t } from "./i18n.js";
import { eventTable } from "./events.js";

const phases = ["running", "starting", "stopping", "paused", "stopped", "pending", "crashed", "failed"];

export function renderDashboard(page) {
  const heading = element("h1", {}, t("dashboard.title"));
  const content = element("div", {});
  page.replaceChildren(heading, content);
  let shown = "";
  return async () => {
    const [cluster, nodes, vms, events] = await Promise.all([
      get("/cluster"),
      get("/nodes"),
      get("/vms"),
      get("/events?limit=15"),
    ]);
    // Each node's latest load sample, measured by the node itself (none while it is offline).
    const loads = await Promise.all(
      nodes.map((view) =>
        view.state === "offline"
          ? null
          : get(`/nodes/${encodeURIComponent(view.node.name)}/metrics?minutes=1`)
              .then((series) => series.samples.at(-1) ?? null)
              .catch(() => null),
      ),
    );
    const data = JSON.stringify([cluster, nodes, loads, vms.map((view) => view.status.phase), events]);
    if (data === shown) return;
    shown = data;
    const counts = Object.fromEntries(phases.map((phase) => [phase, 0]));
    for (const view of vms) counts[view.status.phase] = (counts[view.status.phase] ?? 0) + 1;
    content.replaceChildren(
      section("dashboard.cluster", facts("cluster", clusterFacts(cluster))),
      section("dashboard.nodes", nodeTable(nodes, loads)),
      section("dashboard.vms", vmCounts(counts, vms.length)),
      section("dashboard.members", memberTable(cluster.store.members)),
      section("dashboard.events", ...eventList(events)),
    );
  };
}

function clusterFacts(cluster) {
  return [
    ["cluster.store", t(`store.${cluster.store.kind}`)],
    ["cluster.quorum", cluster.store.quorum ? t("cluster.quorum.yes") : t("cluster.quorum.no")],
    ["cluster.leader", cluster.leader ?? t("cluster.leader.none")],
  ];
}

function nodeTable(nodes, loads) {
  const headers = ["node.name", "node.state", "node.vms", "node.cpu-use", "node.memory-use", "node.cpus", "node.memory"];
  const rows = nodes.map((view, index) => [
    link(`#/nodes/${encodeURIComponent(view.node.name)}`, view.node.name),
    t(`node.state.${view.state}`),
    formatNumber(view.vmCount),
    loads[index] ? formatNumber(loads[index].cpuPercent / 100, { style: "percent", maximumFractionDigits: 1 }) : "—",
    loads[index]
      ? t("node.used", { used: formatBytes(loads[index].memoryUsedBytes), total: formatBytes(loads[index].memoryTotalBytes) })
      : "—",
    t("node.used", { used: formatNumber(view.allocatedCPUs), total: formatNumber(view.node.cpus) }),
    t("node.used", {
      used: formatBytes(view.allocatedMemoryMiB * 1048576),
      total: formatBytes(view.node.memoryMiB * 1048576),
    }),
  ]);
  return table("nodes", headers, rows);
}

function vmCounts(counts, total) {
  const list = element("ul", { id: "vm-counts", class: "counts" });
  list.append(element("li", {}, t("vms.total", { count: formatNumber(total) })));
  for (const [phase, count] of Object.entries(counts)) {
    if (count > 0 || phase === "running" || phase === "stopped") {
      list.append(
        element("li", { "data-phase": phase }, `${t(`phase.${phase}`)}: ${formatNumber(count)}`),
      );
    }
  }
  return list;
}

function eventList(events) {
  const more = element("p", {}, link("#/events", t("dashboard.more-events")));
  if (events.length === 0) return [element("p", {}, t("events.none")), more];
  return [eventTable("events", [...events].reverse()), more];
}

// The store's members and whether each answers (etcd; the embedded store is one member).
function memberTable(members) {
  const rows = members.map((member) => [
    member.name,
    member.url,
    element("span", { class: member.healthy ? "" : "error" }, t(member.healthy ? "member.healthy" : "member.unhealthy")),
    member.isLeader ? t("member.leader") : "",
  ]);
  return table("store-members", ["member.name", "member.url", "member.health", "cluster.leader"], rows);
}
