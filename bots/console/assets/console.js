// The console's only script (served as /console/assets/console.js; the pages work without it).
// It adds what an inbox needs on top of server-rendered pages:
// - live updates: a server-sent-events stream (/console/events) says "something changed"; the
//   page is fetched again and its live regions (`data-live-region`) swapped for the new ones.
//   The new HTML comes from the server, escaped there like every page; nothing here builds HTML.
//   A region the agent is typing in (focused, or a field changed) is left alone.
// - keyboard shortcuts: j/k next/previous, c claim, r reply, e resolve, never while typing.
// - the saved-reply picker: inserts a saved reply into the reply box.
"use strict";
(() => {
  const body = document.body;

  // ------------------------------------------------------------ live updates
  let refreshing = false;
  let again = false;

  const typedIn = (region) =>
    region.contains(document.activeElement) && document.activeElement !== body
      ? true
      : [...region.querySelectorAll("textarea, input:not([type=hidden])")].some((f) => f.value !== f.defaultValue);

  async function refresh() {
    if (refreshing) {
      again = true;
      return;
    }
    refreshing = true;
    try {
      const res = await fetch(location.href, { credentials: "same-origin", headers: { "x-console-live": "1" } });
      if (!res.ok || res.redirected) return;
      const next = new DOMParser().parseFromString(await res.text(), "text/html");
      for (const region of document.querySelectorAll("[data-live-region]")) {
        const fresh = next.getElementById(region.id);
        if (!fresh || typedIn(region)) continue;
        region.replaceWith(document.importNode(fresh, true));
      }
      body.dataset.version = next.body.dataset.version || "";
      select(selectedId());
      document.dispatchEvent(new CustomEvent("console:refreshed"));
    } catch {
      // The next change (or the periodic refresh) tries again.
    } finally {
      refreshing = false;
      if (again) {
        again = false;
        void refresh();
      }
    }
  }

  if (body.dataset.live && "EventSource" in window) {
    // EventSource reconnects by itself, sending the last version it saw (Last-Event-ID).
    const events = new EventSource(body.dataset.live);
    events.addEventListener("message", () => void refresh());
    body.dataset.liveState = "connecting";
    events.addEventListener("open", () => (body.dataset.liveState = "open"));
    events.addEventListener("error", () => (body.dataset.liveState = "reconnecting"));
  }
  // Waiting times (and their SLA colour) move on even when nothing else changes.
  if (document.getElementById("queue-list")) setInterval(() => void refresh(), 30_000);

  // ------------------------------------------------------------ queue selection
  let selected = null;
  const rows = () => [...document.querySelectorAll("tr[data-handoff]")];
  const selectedId = () => selected;

  function select(id) {
    selected = id;
    for (const row of rows()) {
      const on = row.dataset.handoff === id;
      row.classList.toggle("selected", on);
      if (on) row.setAttribute("aria-selected", "true");
      else row.removeAttribute("aria-selected");
    }
  }

  function move(step) {
    const list = rows();
    if (list.length) {
      const at = list.findIndex((r) => r.dataset.handoff === selected);
      const next = list[Math.min(list.length - 1, Math.max(0, at === -1 ? 0 : at + step))];
      select(next.dataset.handoff);
      next.scrollIntoView({ block: "nearest" });
      return;
    }
    // A handoff page: its neighbours in the queue.
    const link = document.querySelector(step > 0 ? "a[rel=next]" : "a[rel=prev]");
    if (link) location.assign(link.href);
  }

  // ------------------------------------------------------------ shortcuts
  const typing = (el) => el instanceof HTMLElement && (el.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName));

  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && typing(e.target)) {
      e.target.blur();
      return;
    }
    if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey || typing(e.target)) return;
    const click = (key) => {
      const el = document.querySelector(`[data-key="${key}"]`);
      if (!el) return false;
      if (el.tagName === "TEXTAREA" || el.tagName === "INPUT") el.focus();
      else el.click();
      return true;
    };
    let done = true;
    switch (e.key) {
      case "j":
        move(1);
        break;
      case "k":
        move(-1);
        break;
      case "Enter":
      case "o": {
        const row = rows().find((r) => r.dataset.handoff === selected);
        const link = row?.querySelector("a[href]");
        if (link) location.assign(link.href);
        else done = false;
        break;
      }
      case "c":
      case "r":
      case "e":
        done = click(e.key);
        break;
      default:
        done = false;
    }
    if (done) e.preventDefault();
  });

  // ------------------------------------------------------------ saved replies
  document.addEventListener("change", (e) => {
    const picker = e.target;
    if (!(picker instanceof HTMLSelectElement) || !picker.matches("[data-saved-reply]")) return;
    const option = picker.selectedOptions[0];
    const box = picker.form?.querySelector("textarea[name=text]");
    if (!option || !option.value || !box) return;
    const text = option.dataset.body || "";
    box.value = box.value.trim() ? `${box.value.replace(/\s+$/, "")}\n\n${text}` : text;
    picker.value = "";
    box.focus();
    box.setSelectionRange(box.value.length, box.value.length);
  });
})();
