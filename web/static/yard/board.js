// The yard station's board (GET /yards/ID): GET /api/v1/yards/ID/board with the token kept by /scan. Each
// load shows what the clerk compares at the gate, its state in words and for how long, and its next step,
// which opens the load's page. Held loads come first and in red, with the seal that differs.
import { api, state } from "../scan/store.js";
import { $, tokenRejected } from "../scan/view.js";
import { TEXTS, beijing, canRecord, duration, el, queuedSteps, refusal, t, wireStation, yardId } from "./station.js";

const REFRESH_MS = 30000;
let lastBoard = null, lastAt = null;

function heldWhy(card) {
  const c = card.seal_check;
  if (!c) return "";
  return t("held_why", { missing: c.missing.join(" ") || t("none_seen"), unexpected: c.unexpected.join(" ") || t("none_seen") });
}

function nextStep(card, pending) {
  const a = el("a", null, "button");
  a.href = `/yards/${yardId}/loads/${card.id}`;
  const next = card.allowed.find(e => e !== "exception");
  a.textContent = canRecord() && next && !pending ? TEXTS.actions[next] : t(canRecord() ? "open" : "view");
  if (canRecord() && next && !pending) a.classList.add("primary");
  return a;
}

function row(values, labels) {
  const tr = document.createElement("tr");
  values.forEach((v, i) => {
    const td = document.createElement("td");
    td.dataset.label = labels[i];
    if (v instanceof Node) td.append(v); else td.textContent = v == null || v === "" ? "–" : String(v);
    tr.append(td);
  });
  return tr;
}

function loadRow(card, now) {
  const pending = queuedSteps().some(q => q.handover_id === card.id);
  const plates = [card.plates.inbound, card.plates.inbound_hk].filter(Boolean).join(" / ");
  const state = el("span", TEXTS.states[card.state] ?? card.state, "state-word");
  const stateCell = el("span");
  stateCell.append(state);
  if (card.state === "held") stateCell.append(el("span", heldWhy(card), "held-why"));
  if (pending) stateCell.append(el("span", t("pending"), "pending"));
  const id = el("a", `#${card.id}`);
  id.href = `/yards/${yardId}/loads/${card.id}`;
  const tr = row([id, plates, card.container_no, card.cargo.description, card.seals.join(" "), stateCell,
                  duration(now - Date.parse(card.state_since)), nextStep(card, pending)], TEXTS.columns);
  tr.dataset.id = card.id;
  tr.dataset.state = card.state;
  tr.dataset.find = [card.id, card.plates.inbound, card.plates.inbound_hk, card.plates.outbound, card.container_no]
    .filter(Boolean).join(" ").toUpperCase();
  return tr;
}

function overdueRow(card, now) {
  const id = el("a", `#${card.id}`);
  id.href = `/yards/${yardId}/loads/${card.id}`;
  const tr = row([id, [card.plates.inbound, card.plates.inbound_hk].filter(Boolean).join(" / "), card.container_no,
                  duration(now - Date.parse(card.return_due_at)), card.firms.inbound, beijing(card.return_due_at)],
                 TEXTS.overdue_columns);
  tr.dataset.id = card.id;
  tr.dataset.find = [card.id, card.plates.inbound, card.plates.inbound_hk, card.container_no].join(" ").toUpperCase();
  return tr;
}

function fillTable(id, rows, columns) {
  const head = document.createElement("tr");
  head.append(...columns.map(name => el("th", name)));
  if (!rows.length) {  // say "none" rather than leave a header over nothing
    const empty = el("td", TEXTS.none, "empty-row");
    empty.colSpan = columns.length;
    rows = [document.createElement("tr")];
    rows[0].append(empty);
  }
  document.getElementById(id).replaceChildren(head, ...rows);
  $(`count-${id}`).textContent = rows[0].dataset.id ? `(${rows.length})` : "";
}

function show(board) {
  const now = Date.now();
  $("yard-name").textContent = board.yard.name;
  $("occupancy").textContent = `${board.occupancy} / ${board.capacity ?? "–"}` +
    (board.occupancy_ratio != null ? ` (${Math.round(board.occupancy_ratio * 100)}%)` : "");
  $("dwell-median").textContent = board.dwell_minutes.median ?? "–";
  $("dwell-p90").textContent = board.dwell_minutes.p90 ?? "–";
  $("overdue-count").textContent = board.overdue_returns.length;
  for (const id of ["held", "waiting", "in_progress"]) {
    fillTable(id, board[id].map(card => loadRow(card, now)), TEXTS.columns);
  }
  fillTable("overdue_returns", board.overdue_returns.map(card => overdueRow(card, now)), TEXTS.overdue_columns);
  $("part-held").dataset.empty = String(!board.held.length);
  $("read-only").hidden = canRecord();
  $("read-only").textContent = t("read_only");
  find();
}

function find() {
  const words = $("find").value.trim().toUpperCase();
  for (const tr of document.querySelectorAll(".board-table tr[data-find]")) {
    tr.hidden = Boolean(words) && !tr.dataset.find.includes(words);
  }
}

async function refresh() {
  const status = $("status");
  if (!state.token || !state.me) { status.textContent = t("sign_in_first"); return; }
  if (!navigator.onLine) {
    if (lastBoard) { show(lastBoard); status.textContent = t("offline_board", { time: beijing(lastAt) }); }
    return;
  }
  try {
    const r = await api(`/yards/${yardId}/board`);
    if (r.status === 401) { tokenRejected(); status.textContent = t("sign_in_first"); return; }
    if (!r.ok) { status.textContent = await refusal(r); return; }
    lastBoard = await r.json();
    lastAt = new Date().toISOString();
    show(lastBoard);
    status.textContent = t("updated", { time: beijing(lastAt) });
  } catch (e) {
    if (lastBoard) show(lastBoard);
    status.textContent = t("cannot_reach", { reason: e.message });
  }
}

$("find").addEventListener("input", find);
wireStation({ refresh, onUploaded: () => {} });
setInterval(refresh, REFRESH_MS);
