// The VM list, filtered by name, state and node. The filter lives in the address, so it can be
// bookmarked; the list under it follows the cluster every two seconds.
import { get } from "./api.js";
import { choice, element, filterInAddress, link, option, table } from "./dom.js";
import { formatBytes, formatNumber, t } from "./i18n.js";

const phases = ["running", "stopped", "paused", "starting", "stopping", "pending", "crashed", "failed"];

export function renderVMList(page, query) {
  const form = element("form", { id: "vm-filter", class: "filters", role: "search" });
  const text = element("input", { type: "search", name: "q", value: query.get("q") ?? "" });
  text.setAttribute("aria-label", t("vms.filter.name"));
  text.placeholder = t("vms.filter.name");
  const phase = choice("phase", query.get("phase") ?? "", t("vms.filter.any-state"));
  for (const value of phases) phase.append(option(value, t(`phase.${value}`), query.get("phase")));
  const node = choice("node", query.get("node") ?? "", t("vms.filter.any-node"));
  form.append(text, phase, node);
  const content = element("div", {});
  page.replaceChildren(element("h1", {}, t("vms.title")), form, content);

  let views = [];
  let shown = "";
  const draw = () => {
    const filter = Object.fromEntries(new FormData(form));
    const rows = views
      .filter(
        (view) =>
          view.vm.name.includes(filter.q ?? "") &&
          (!filter.phase || view.status.phase === filter.phase) &&
          (!filter.node || view.vm.node === filter.node),
      )
      .map((view) => [
        link(`#/vms/${encodeURIComponent(view.vm.name)}`, view.vm.name),
        t(`phase.${view.status.phase}`),
        view.vm.node ? link(`#/nodes/${encodeURIComponent(view.vm.node)}`, view.vm.node) : "—",
        formatNumber(view.vm.spec.cpus),
        formatBytes(view.vm.spec.memoryMiB * 1048576),
        view.vm.ha?.enabled ? t("vm.ha.on") : t("vm.ha.off"),
      ]);
    const key = JSON.stringify([filter, views.map((view) => [view.vm, view.status.phase])]);
    if (key === shown) return;
    shown = key;
    const headers = ["vm.name", "vm.state", "vm.node", "vm.cpus", "vm.memory", "vm.ha"];
    content.replaceChildren(
      rows.length
        ? table("vm-list", headers, rows)
        : element("p", { id: "vm-list-empty" }, t("vms.none")),
    );
  };
  filterInAddress(form, "#/vms", draw);

  return async () => {
    views = await get("/vms");
    const names = [...new Set(views.map((view) => view.vm.node).filter(Boolean))].sort();
    const known = [...node.options].slice(1).map((entry) => entry.value);
    for (const name of names) if (!known.includes(name)) node.append(option(name, name, query.get("node")));
    draw();
  };
}
