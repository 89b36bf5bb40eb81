// Tasks (migrations, disk moves, snapshots, clones…) with their progress, newest first.
import { get } from "./api.js";
import { element, link, table } from "./dom.js";
import { formatDate, formatNumber, t } from "./i18n.js";

export function renderTasks(page) {
  const content = element("div", {});
  page.replaceChildren(element("h1", {}, t("tasks.title")), content);
  let shown = "";
  return async () => {
    const tasks = await get("/tasks");
    const key = JSON.stringify(tasks);
    if (key === shown) return;
    shown = key;
    if (tasks.length === 0) {
      content.replaceChildren(element("p", { id: "tasks-empty" }, t("tasks.none")));
      return;
    }
    const rows = [...tasks]
      .sort((a, b) => (a.createdAt < b.createdAt ? 1 : -1))
      .map((task) => [
        formatDate(task.createdAt),
        t(`task.kind.${task.kind}`),
        task.vm ? link(`#/vms/${encodeURIComponent(task.vm)}`, task.vm) : "",
        t(`task.state.${task.state}`),
        progress(task),
        task.message ?? "",
      ]);
    content.replaceChildren(
      table(
        "tasks",
        ["task.time", "task.kind", "task.vm", "task.state", "task.progress", "task.message"],
        rows,
      ),
    );
  };
}

function progress(task) {
  const fraction = task.state === "succeeded" ? 1 : (task.progress ?? 0);
  const bar = element("progress", { max: "100", value: String(Math.round(fraction * 100)) });
  bar.setAttribute("aria-label", t("task.progress"));
  return element(
    "span",
    { class: "progress" },
    bar,
    ` ${formatNumber(fraction, { style: "percent" })}`,
  );
}
