// One load at the yard station (GET /yards/ID/loads/HANDOVER_ID): what to compare, only the steps its state
// allows (the API's "allowed", from logistics/handovers.py), a driver's pass scanned with the same input and
// verdict display as /scan (verified here from the synced documents when offline), and the custody record,
// which prints on its own and downloads signed (.cose) for the receiving firm.
import { api, state } from "../scan/store.js";
import { localVerdict } from "../scan/queue.js";
import { $, showVerdict, startCamera, tokenRejected } from "../scan/view.js";
import { TEXTS, beijing, beijingFull, canRecord, duration, el, queuedSteps, recordStep, refusal, t, wireStation,
         yardId } from "./station.js";

const handoverId = Number(document.querySelector("[data-handover-id]").dataset.handoverId);
const SCAN_STEPS = ["arrived", "collected"];
let load = null, custody = null, busy = false;

const plates = h => [h.plates.inbound, h.plates.inbound_hk].filter(Boolean).join(" / ");
const scanPlate = (h, step) => (step === "collected" ? h.plates.outbound || "" : plates(h));

function showLoad() {
  const h = load, now = Date.now();
  const pending = queuedSteps().filter(q => q.handover_id === handoverId);
  $("load").hidden = false;
  $("load").dataset.state = h.state;
  $("container").textContent = h.inbound.container_no;
  $("load-plate").textContent = plates(h);
  $("state-word").textContent = TEXTS.states[h.state] ?? h.state;
  $("state-since").textContent = `· ${duration(now - Date.parse(h.state_since))} · ${beijing(h.state_since)}`;
  $("state-pending").hidden = !pending.length;
  const held = h.state === "held" && !pending.length;
  $("held-why").hidden = $("held-release").hidden = !held;
  if (held && h.seal_check) {
    $("held-why").textContent = t("held_why", { missing: h.seal_check.missing.join(" ") || t("none_seen"),
                                                unexpected: h.seal_check.unexpected.join(" ") || t("none_seen") });
  }
  $("held-release").textContent = t("held_release");
  const overdue = h.return_due_at && !h.returned_at && Date.parse(h.return_due_at) < now;
  $("overdue").hidden = !overdue;
  if (overdue) $("overdue").textContent = t("overdue", { duration: duration(now - Date.parse(h.return_due_at)), firm: h.firms.inbound });
  const c = h.cargo;
  $("cargo").textContent = `${c.description} · ${c.packages} · ${c.gross_kg} kg`;
  $("seals").textContent = h.inbound.seals.join(" ");
  $("inbound-firm").textContent = h.firms.inbound;
  $("outbound-firm").textContent = h.firms.outbound ?? "–";
  $("outbound-plate").textContent = h.plates.outbound ?? "–";
  showSteps(h.allowed);
}

// Only the steps the state machine allows now; nothing for a reader, nothing while a seal check waits upload.
function showSteps(allowed) {
  const mine = canRecord() ? allowed : [];
  $("read-only").hidden = canRecord();
  $("read-only").textContent = t("read_only");
  $("steps").hidden = !mine.length;
  const scanStep = mine.find(e => SCAN_STEPS.includes(e));
  $("scan-form").hidden = !scanStep;
  if (scanStep) {
    $("scan-form").dataset.step = scanStep;
    $("qr-label").textContent = TEXTS.actions[scanStep];
    $("scan-submit").textContent = TEXTS.events[scanStep];
  }
  $("seals-form").hidden = !mine.includes("seals_checked");
  $("exception").hidden = !mine.includes("exception");
  $("plain-steps").replaceChildren(...mine.filter(e => !SCAN_STEPS.includes(e) && !["seals_checked", "exception"].includes(e))
    .map(e => {
      const b = el("button", TEXTS.actions[e], "primary");
      b.type = "button";
      b.dataset.step = e;
      return b;
    }));
  if (scanStep && document.activeElement === document.body) $("qr").focus();  // ready for the wedge scanner
}

function showCustody() {
  const items = (custody?.events || []).map(e => {
    const li = el("li", null, "custody-event");
    li.dataset.type = e.type;
    li.append(el("span", `${e.seq}. ${TEXTS.events[e.type] ?? e.type}`, "ce-step"),
              el("span", beijingFull(e.at), "ce-time"),
              el("span", [e.site, e.actor].filter(Boolean).join(" · "), "ce-who"),
              el("span", `${TEXTS.states[e.state_after] ?? e.state_after}`, "ce-state"),
              el("span", e.audit_hash, "ce-hash mono"));
    return li;
  });
  for (const q of queuedSteps().filter(q => q.handover_id === handoverId)) {
    const li = el("li", null, "custody-event queued");
    li.dataset.type = q.body.type;
    li.append(el("span", `${TEXTS.events[q.body.type]} · ${t("pending")}`, "ce-step"),
              el("span", beijingFull(q.body.at), "ce-time"));
    items.push(li);
  }
  $("custody-events").replaceChildren(...items);
  $("custody-container").textContent = load?.inbound.container_no ?? "";
}

async function refreshCustody() {
  try {
    const c = await api(`/handovers/${handoverId}/custody`);
    if (c.ok) { custody = await c.json(); showCustody(); }
  } catch { /* shown again at the next refresh */ }
}

async function refresh() {
  if (!state.token || !state.me) { $("status").textContent = t("sign_in_first"); return; }
  if (!navigator.onLine) { if (load) { showLoad(); showCustody(); } return; }
  try {
    const [r, c] = await Promise.all([api(`/handovers/${handoverId}`), api(`/handovers/${handoverId}/custody`)]);
    if (r.status === 401) { tokenRejected(); $("status").textContent = t("sign_in_first"); return; }
    if (!r.ok) { $("status").textContent = await refusal(r); return; }
    const body = await r.json();
    if (body.yard_site_id !== yardId) { $("status").textContent = t("not_this_yard"); return; }
    load = body;
    custody = c.ok ? await c.json() : null;
    if (!queuedSteps().some(q => q.handover_id === handoverId)) showLoad();
    showCustody();
    $("status").textContent = t("updated", { time: beijing(new Date().toISOString()) });
  } catch (e) {
    $("status").textContent = t("cannot_reach", { reason: e.message });
  }
}

// A step queued offline: show the state it leads to (the domain's table), except a seal check, whose
// outcome only the server knows; no further step until it is uploaded.
function predict(step) {
  if (step === "seals_checked") { showSteps([]); return t("queued_seals"); }
  const target = TEXTS.steps[load.state]?.[step];
  if (target) load = { ...load, state: target, state_since: new Date().toISOString(), allowed: Object.keys(TEXTS.steps[target]) };
  showLoad();
  return t("queued", { step: TEXTS.events[step] });
}

async function step(type, fields = {}) {
  if (busy || !load) return;
  busy = true;
  $("steps").inert = true;  // one step at a time: a second tap waits instead of being lost
  $("step-note").textContent = "";
  const scanning = SCAN_STEPS.includes(type);
  try {
    let offline = null;
    if (scanning && !navigator.onLine) {  // verify the pass here first: a refused driver is not queued
      offline = await localVerdict({ qr: fields.qr, plate_seen: null, scanned_at: new Date().toISOString() });
      showVerdict(offline, "offline");
      $("plate-big").textContent = scanPlate(load, type);
      if (offline.verdict !== "accept") return;
    }
    const result = await recordStep(handoverId, { type, ...fields });
    if (result.recorded) {
      load = result.recorded;
      if (scanning) { showVerdict({ verdict: "accept", reasons: [] }, "online"); $("plate-big").textContent = scanPlate(load, type); }
      $("step-note").textContent = t("recorded", { step: TEXTS.events[type] });
      showLoad();
      refreshCustody();  // not awaited: the next step's button works at once
    } else if (result.queued) {
      if (scanning && !offline) {
        offline = await localVerdict({ qr: fields.qr, plate_seen: null, scanned_at: new Date().toISOString() });
        showVerdict(offline, "offline");
        $("plate-big").textContent = scanPlate(load, type);
      }
      $("step-note").textContent = predict(type);
      showCustody();
    } else {
      if (scanning && result.code === "driver_not_cleared") {
        showVerdict({ verdict: "reject", reasons: result.reasons }, "online");
        $("plate-big").textContent = scanPlate(load, type);
      }
      $("step-note").textContent = result.refused;
      await refresh();
    }
  } finally {
    busy = false;
    $("steps").inert = false;
    $("events-pending").textContent = String(queuedSteps().length);
  }
}

async function downloadCose() {
  $("download-error").textContent = "";
  try {
    const r = await api(`/handovers/${handoverId}/custody.cose`);
    if (!r.ok) throw new Error(await refusal(r));
    const a = el("a");
    a.href = URL.createObjectURL(await r.blob());
    a.download = `custody-${handoverId}.cose`;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10000);
  } catch (e) {
    $("download-error").textContent = t("download_failed", { reason: e.message });
  }
}

$("scan-form").addEventListener("submit", ev => {
  ev.preventDefault();  // the wedge scanner ends with Enter, which submits
  const qr = $("qr").value;
  if (!qr.trim()) { $("qr").focus(); return; }
  $("qr").value = "";
  step($("scan-form").dataset.step, { qr });
});
if ("BarcodeDetector" in window && navigator.mediaDevices?.getUserMedia) {
  $("camera-btn").hidden = false;
  $("camera-btn").addEventListener("click", () => startCamera(qr => step($("scan-form").dataset.step, { qr })));
}
$("seals-form").addEventListener("submit", ev => {
  ev.preventDefault();
  const seen = $("seals-seen").value.split(/[\s,，、;；]+/).filter(Boolean);
  if (!seen.length) { $("step-note").textContent = TEXTS.fields.seals_seen; $("seals-seen").focus(); return; }
  $("seals-seen").value = "";
  step("seals_checked", { seals_seen: seen });
});
$("exception-form").addEventListener("submit", ev => {
  ev.preventDefault();
  const reason = $("reason").value.trim();
  if (!reason) { $("reason").focus(); return; }
  $("reason").value = "";
  $("exception").open = false;
  step("exception", { reason });
});
$("plain-steps").addEventListener("click", ev => {
  const b = ev.target.closest("button[data-step]");
  if (b) step(b.dataset.step);
});
$("print").addEventListener("click", () => window.print());
$("download-cose").addEventListener("click", downloadCose);
wireStation({ refresh, onUploaded: h => { if (h.id === handoverId) load = h; } });
