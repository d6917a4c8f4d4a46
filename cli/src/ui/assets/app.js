// weft ui: links in run pictures, the slowest path, and live updates (server-sent events from
// /events during `watch --ui` / `dev --ui`). No framework, no network beyond this server.
"use strict";

function outcomeColours(outcome) {
  const css = getComputedStyle(document.documentElement);
  const role = { hit: "hit", memo: "hit", executed: "executed", failed: "failed" }[outcome] || "executed";
  return [css.getPropertyValue("--" + role + "-fill").trim(), css.getPropertyValue("--" + role + "-stroke").trim()];
}

function nodeBox(picture, name) {
  for (const g of picture.querySelectorAll("g.weft-node")) {
    if (g.dataset.node === name) return g;
  }
  return null;
}

function paint(g, outcome) {
  const rect = g && g.querySelector("rect");
  if (!rect) return;
  const [fill, stroke] = outcomeColours(outcome);
  rect.setAttribute("fill", fill);
  rect.setAttribute("stroke", stroke);
  g.classList.remove("running", "pending");
  g.dataset.outcome = outcome;
}

// Each node of a run's picture opens the node's page; the slowest path is outlined.
function wirePicture(picture) {
  const run = picture.dataset.run;
  let path = [];
  try { path = JSON.parse(picture.dataset.path || "[]"); } catch (e) { path = []; }
  for (const g of picture.querySelectorAll("g.weft-node")) {
    if (path.includes(g.dataset.node)) g.classList.add("on-path");
    g.setAttribute("role", "link");
    g.addEventListener("click", () => {
      const r = picture.dataset.run;
      if (r) location.href = "/runs/" + encodeURIComponent(r) + "/nodes/" + encodeURIComponent(g.dataset.node);
    });
  }
  return run;
}

async function replacePicture(picture, runId) {
  const res = await fetch("/runs/" + encodeURIComponent(runId) + "/picture.svg");
  if (!res.ok) return;
  picture.innerHTML = await res.text();
  picture.dataset.run = runId;
  picture.dataset.path = "[]";
  wirePicture(picture);
}

async function refreshPart(id) {
  const el = document.getElementById(id);
  if (!el) return;
  const res = await fetch(location.href);
  if (!res.ok) return;
  const doc = new DOMParser().parseFromString(await res.text(), "text/html");
  const fresh = doc.getElementById(id);
  if (fresh) el.replaceWith(fresh);
}

// How a run of the session ended, at the top of the live panel's list (a page opened later
// has it from the server already: each run number is listed once).
function listEnding(e) {
  const list = document.getElementById("endings");
  if (!list || e.run === undefined || list.querySelector('li[data-number="' + e.run + '"]')) return;
  const li = document.createElement("li");
  li.dataset.number = String(e.run);
  li.dataset.status = e.status;
  const badge = document.createElement("span");
  badge.className = "badge " + e.status;
  badge.textContent = e.status;
  li.append(badge, " run " + e.run);
  if (e.run_id) {
    const a = document.createElement("a");
    a.className = "mono";
    a.href = "/runs/" + encodeURIComponent(e.run_id);
    a.textContent = e.run_id.slice(0, 8);
    li.append(" ", a);
  }
  li.append(" · " + e.reason);
  list.prepend(li);
  while (list.children.length > 10) list.lastElementChild.remove();
}

function followLive() {
  const panel = document.getElementById("live");
  const picture = document.querySelector(".picture[data-live]");
  const say = (text, state) => {
    if (!panel) return;
    panel.querySelector(".what").textContent = text;
    panel.className = "panel live " + (state || "");
    panel.dataset.state = state || "";
  };
  let run = { id: null, reason: "", done: 0, total: 0, executed: 0 };
  const events = new EventSource("/events");
  events.onmessage = (m) => {
    let e;
    try { e = JSON.parse(m.data); } catch (err) { return; }
    switch (e.kind) {
      case "reason":
        run.reason = e.reason;
        break;
      case "run_started":
        run = { id: e.run_id, reason: run.reason, done: 0, total: (e.path || []).length, executed: 0 };
        say("run " + e.run_id.slice(0, 8) + " in flight: " + run.reason, "running");
        if (picture) {
          picture.dataset.run = e.run_id;
          for (const g of picture.querySelectorAll("g.weft-node")) {
            if ((e.path || []).includes(g.dataset.node)) g.classList.add("pending");
          }
        }
        break;
      case "node_started":
        if (picture) {
          const g = nodeBox(picture, e.node);
          if (g) { g.classList.remove("pending"); g.classList.add("running"); }
        }
        say("run " + (run.id || "").slice(0, 8) + " in flight: " + run.reason + " — running " + e.node, "running");
        break;
      case "node_finished":
        run.done += 1;
        if (e.outcome === "executed") run.executed += 1;
        if (picture) paint(nodeBox(picture, e.node), e.outcome);
        say("run " + (run.id || "").slice(0, 8) + " in flight: " + run.reason + " — " + run.done + " done, " + run.executed + " executed", "running");
        break;
      case "run_finished":
        if (picture) {
          for (const n of e.reused || []) paint(nodeBox(picture, n), "hit");
          if (e.failed) paint(nodeBox(picture, e.failed), "failed");
        }
        break;
      case "cancelling":
        say("cancelling run " + (run.id || "").slice(0, 8) + ": " + (e.files || []).join(", ") + " changed", "cancelled");
        break;
      case "run_ended": {
        listEnding(e);
        const state = e.status === "completed" ? "idle" : e.status;
        say("last run " + (run.id || "").slice(0, 8) + " " + e.status + " (" + e.reason + ", " +
            Math.round(e.elapsed_ms) + " ms)", state);
        if (picture && run.id && e.status !== "cancelled") replacePicture(picture, run.id);
        refreshPart("runs");
        break;
      }
      case "unchanged":
        say("saved without changes: " + (e.files || []).join(", ") + " (nothing ran)", panel ? panel.dataset.state : "");
        break;
    }
  };
}

document.addEventListener("DOMContentLoaded", () => {
  for (const p of document.querySelectorAll(".picture")) wirePicture(p);
  if (document.body.dataset.live === "1") followLive();
});
