// Yard board: reads GET /api/v1/yards/ID/board with the officer/yard token kept in localStorage.
// Its words come from the page's JSON block #i18n, rendered by the server from its catalog (web/yard.py).
"use strict";
// The same key as the scanner page (web/static/scan/store.js, STORE.token), so a sign-in on /scan serves here too.
const TOKEN_KEY = "gl.scan.token";
const TEXTS = JSON.parse(document.getElementById("i18n").textContent);
const yardId = document.querySelector("[data-yard-id]").dataset.yardId;
const t = (key, values = {}) => TEXTS[key].replace(/%\((\w+)\)s/g, (whole, name) => (name in values ? String(values[name]) : whole));

function cell(tag, text) {
  const td = document.createElement(tag);
  td.textContent = text == null ? "–" : String(text);  // textContent only: data is never parsed as HTML
  return td;
}

// Short enough for a phone's column: month/day hour:minute in the device's own time zone and format.
const when = value => (value ? new Date(value).toLocaleString([], { month: "numeric", day: "numeric",
                                                                    hour: "2-digit", minute: "2-digit" }) : null);

function fillTable(id, rows) {
  const head = document.createElement("tr");
  head.append(...TEXTS.columns.map(name => cell("th", name)));
  const body = rows.map(r => {
    const tr = document.createElement("tr");
    tr.dataset.state = r.state;
    tr.append(...[r.id, TEXTS.states[r.state] ?? r.state, r.container_no, when(r.arrived_at), when(r.return_due_at)]
      .map(v => cell("td", v)));
    tr.querySelectorAll("td").forEach((td, i) => { td.dataset.label = TEXTS.columns[i]; });  // a phone's labels
    return tr;
  });
  if (!body.length) {  // say "none" rather than leave a header over nothing
    const empty = cell("td", TEXTS.none);
    empty.colSpan = TEXTS.columns.length;
    empty.className = "empty-row";
    body.push(document.createElement("tr"));
    body[0].append(empty);
  }
  document.getElementById(id).replaceChildren(head, ...body);
}

async function refresh() {
  const token = localStorage.getItem(TOKEN_KEY);
  const status = document.getElementById("status");
  if (!token) { status.textContent = t("sign_in_first"); return; }
  try {
    const res = await fetch(`/api/v1/yards/${yardId}/board`, { headers: { Authorization: `Bearer ${token}` } });
    const body = await res.json();
    // The token form shows only while no token works here (none yet, unknown, or not posted at this yard).
    document.getElementById("signin").hidden = res.ok;
    if (!res.ok) { status.textContent = t("refused", { status: res.status, reason: body.detail || body.title || "" }); return; }
    document.getElementById("yard-name").textContent = body.yard.name;
    document.getElementById("occupancy").textContent =
      `${body.occupancy} / ${body.capacity ?? "–"}` + (body.occupancy_ratio != null ? ` (${Math.round(body.occupancy_ratio * 100)}%)` : "");
    document.getElementById("dwell-median").textContent = body.dwell_minutes.median ?? "–";
    document.getElementById("dwell-p90").textContent = body.dwell_minutes.p90 ?? "–";
    document.getElementById("overdue-count").textContent = body.overdue_returns.length;
    for (const id of ["waiting", "held", "in_progress", "overdue_returns"]) fillTable(id, body[id]);
    status.textContent = t("updated", { time: new Date().toLocaleTimeString() });
  } catch (e) {
    status.textContent = t("offline", { reason: e.message });
  }
}

document.getElementById("signin").addEventListener("submit", (ev) => {
  ev.preventDefault();
  localStorage.setItem(TOKEN_KEY, document.getElementById("token").value.trim());
  document.getElementById("token").value = "";
  refresh();
});
refresh();
setInterval(refresh, 30000);
