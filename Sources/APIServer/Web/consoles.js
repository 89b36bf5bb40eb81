// The two consoles of a running VM, each through a websocket of the kazed that runs it, opened
// with a one-use ticket from the API: the serial port as text (what the guest prints, what you
// type) and the VGA display through noVNC (served by kazed from Debian's novnc package).
import { errorText, get, post } from "./api.js";
import { element, link } from "./dom.js";
import { t } from "./i18n.js";
import { hasProcess } from "./vm.js";

const kept = 200_000; // characters of serial output kept on the page
const keys = {
  Enter: "\r", Backspace: "\x7f", Tab: "\t", Escape: "\x1b",
  ArrowUp: "\x1b[A", ArrowDown: "\x1b[B", ArrowRight: "\x1b[C", ArrowLeft: "\x1b[D",
};

// A ticket for one console of `name`, turned into the websocket's address.
async function socketAddress(name, kind) {
  const ticket = await post(`/vms/${encodeURIComponent(name)}/${kind}/ticket`);
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${ticket.address ?? location.host}${ticket.path}`;
}

function header(name, titleKey, status, ...tools) {
  return [
    element("h1", {}, t(titleKey, { name })),
    element("p", {}, link(`#/vms/${encodeURIComponent(name)}`, t("console.back", { name }))),
    element("div", { class: "actions" }, status, ...tools),
  ];
}

// Keeps one console connected while the page is open: connects when the VM has a QEMU, says
// why when it cannot, and connects again (at the next refresh) after the VM comes back.
function keepConnected(name, status, connect) {
  let connection = null; // { close() } while open or opening
  let phase = "";
  const say = (key, values, error = false) => {
    status.textContent = t(key, values);
    status.dataset.state = key.split(".").pop();
    status.className = error ? "error" : "";
  };
  const update = async () => {
    phase = (await get(`/vms/${encodeURIComponent(name)}`)).status.phase;
    if (connection) return;
    if (!hasProcess(phase)) return say("console.not-running", { state: t(`phase.${phase}`) });
    say("console.connecting");
    try {
      connection = await connect({
        connected: () => say("console.connected"),
        closed: (reason) => {
          connection = null;
          say("console.closed", { reason: reason || t("console.no-reason") }, true);
        },
      });
    } catch (error) {
      connection = null;
      say("console.failed", { reason: errorText(error) }, true);
    }
  };
  update.leave = () => {
    const open = connection;
    connection = { close() {} }; // nothing reconnects after leaving
    open?.close();
  };
  return update;
}

export function renderSerialConsole(page, _query, name) {
  const status = element("span", { id: "console-status", role: "status" });
  const output = element("pre", { id: "serial-output", class: "terminal", tabindex: "0" });
  output.setAttribute("aria-label", t("console.serial.output"));
  const line = element("input", { id: "serial-line", type: "text", autocomplete: "off" });
  const send = element("button", { type: "submit" }, t("console.send"));
  const form = element("form", { class: "actions" },
    element("label", { for: "serial-line" }, t("console.serial.line")), line, send);
  page.replaceChildren(
    ...header(name, "console.serial.title", status),
    output, form, element("p", { class: "hint" }, t("console.serial.hint")));

  let socket = null;
  const type = (text) => {
    if (socket?.readyState === WebSocket.OPEN) socket.send(new TextEncoder().encode(text));
  };
  output.addEventListener("keydown", (event) => {
    if (event.ctrlKey && event.key.length === 1) {
      type(String.fromCharCode(event.key.toUpperCase().charCodeAt(0) - 64));
    } else if (keys[event.key]) {
      type(keys[event.key]);
    } else if (event.key.length === 1 && !event.altKey && !event.metaKey) {
      type(event.key);
    } else {
      return;
    }
    event.preventDefault();
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    type(`${line.value}\r`);
    line.value = "";
  });

  return keepConnected(name, status, async (events) => {
    const decoder = new TextDecoder();
    socket = new WebSocket(await socketAddress(name, "console"));
    socket.binaryType = "arraybuffer";
    socket.onopen = events.connected;
    socket.onmessage = (message) => {
      const atBottom = output.scrollTop + output.clientHeight >= output.scrollHeight - 4;
      output.textContent = printable(output.textContent, decoder.decode(message.data, { stream: true }));
      if (atBottom) output.scrollTop = output.scrollHeight;
    };
    socket.onclose = (event) => events.closed(event.reason);
    return socket;
  });
}

// Appends console output to `text`: escape sequences (colours, cursor moves) dropped, carriage
// returns ignored, backspaces applied.
function printable(text, chunk) {
  let result = text;
  for (const part of chunk.replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\r/g, "").split(/(\x08)/)) {
    result = part === "\x08" ? result.slice(0, -1) : result + part;
  }
  return result.length > kept ? result.slice(result.length - kept) : result;
}

export function renderDisplayConsole(page, _query, name) {
  const status = element("span", { id: "display-status", role: "status" });
  const keysButton = element("button", { type: "button", id: "send-ctrl-alt-del" }, t("console.ctrl-alt-del"));
  const screen = element("div", { id: "display", class: "display" });
  page.replaceChildren(...header(name, "console.display.title", status, keysButton), screen);
  let rfb = null;
  keysButton.addEventListener("click", () => rfb?.sendCtrlAltDel());

  return keepConnected(name, status, async (events) => {
    let RFB;
    try {
      ({ default: RFB } = await import("/novnc/core/rfb.js"));
    } catch {
      throw new Error(t("console.display.no-novnc"));
    }
    const address = await socketAddress(name, "vnc");
    screen.replaceChildren();
    rfb = new RFB(screen, address);
    rfb.scaleViewport = true;
    rfb.addEventListener("connect", events.connected);
    rfb.addEventListener("disconnect", (event) =>
      events.closed(event.detail.clean ? "" : t("console.display.lost")));
    rfb.addEventListener("securityfailure", (event) => events.closed(event.detail.reason));
    return { close: () => rfb.disconnect() };
  });
}
