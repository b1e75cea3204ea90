// Yard board: reads GET /api/v1/yards/ID/board with the officer/yard token kept in localStorage.
"use strict";
// The same key as the scanner page (web/static/scan/store.js, STORE.token), so a sign-in on /scan serves here too.
const TOKEN_KEY = "gl.scan.token";
const yardId = document.body.dataset.yardId;
const HEAD = "<tr><th>#</th><th>状态 State</th><th>箱号 Container</th><th>到达 Arrived</th><th>应返 Return due</th></tr>";

function cell(text) {
  const td = document.createElement("td");
  td.textContent = text == null ? "–" : String(text);
  return td;
}

function fillTable(id, rows) {
  const table = document.getElementById(id);
  table.innerHTML = HEAD;  // static markup only; data goes through textContent below
  for (const r of rows) {
    const tr = document.createElement("tr");
    for (const v of [r.id, r.state, r.container_no, r.arrived_at, r.return_due_at]) tr.appendChild(cell(v));
    table.appendChild(tr);
  }
}

async function refresh() {
  const token = localStorage.getItem(TOKEN_KEY);
  const status = document.getElementById("status");
  if (!token) { status.textContent = "请登录 Please sign in"; return; }
  try {
    const res = await fetch(`/api/v1/yards/${yardId}/board`, { headers: { Authorization: `Bearer ${token}` } });
    const body = await res.json();
    if (!res.ok) { status.textContent = `${res.status} ${body.title || ""} ${body.detail || ""}`; return; }
    document.getElementById("yard-name").textContent = body.yard.name;
    document.getElementById("occupancy").textContent =
      `${body.occupancy} / ${body.capacity ?? "–"}` + (body.occupancy_ratio != null ? ` (${Math.round(body.occupancy_ratio * 100)}%)` : "");
    document.getElementById("dwell-median").textContent = body.dwell_minutes.median ?? "–";
    document.getElementById("dwell-p90").textContent = body.dwell_minutes.p90 ?? "–";
    document.getElementById("overdue-count").textContent = body.overdue_returns.length;
    for (const id of ["waiting", "held", "in_progress", "overdue_returns"]) fillTable(id, body[id]);
    status.textContent = `更新于 Updated ${new Date().toLocaleTimeString()}`;
  } catch (e) {
    status.textContent = `离线 Offline: ${e.message}`;
  }
}

document.getElementById("signin").addEventListener("submit", (ev) => {
  ev.preventDefault();
  localStorage.setItem(TOKEN_KEY, document.getElementById("token").value.trim());
  refresh();
});
refresh();
setInterval(refresh, 30000);
