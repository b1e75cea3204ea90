// What the yard station's two pages share (board.js, load.js): sign-in with the token kept by /scan (the same
// storage key, web/static/scan/store.js), the steps queued while the network is down and uploaded in order,
// the clerk's words for a refused step, and Beijing time. The scanner's modules do the rest: store.js talks
// to the API, queue.js syncs the offline documents and verifies a pass offline, view.js shows the verdict.
import { STORE, api, load, save, state } from "../scan/store.js";
import { parseStoredDocs, syncDocs } from "../scan/queue.js";
import { signOut } from "../scan/signin.js";
import { $, render, tokenRejected } from "../scan/view.js";

export const TEXTS = JSON.parse(document.getElementById("i18n").textContent);
export const yardId = Number(document.querySelector("[data-yard-id]").dataset.yardId);
const STEPS_KEY = "gl.yard.steps";  // steps recorded here, not yet accepted by the server, oldest first
const SYNC_MS = 60000, UPLOAD_MS = 15000;
const READERS = ["regulator", "auditor", "admin"];

export const fill = (text, values = {}) =>
  String(text).replace(/%\((\w+)\)s/g, (whole, name) => (name in values ? String(values[name]) : whole));
export const t = (key, values) => fill(TEXTS[key] ?? key, values);

export const el = (tag, text, cls) => {  // textContent only: nothing from the server is parsed as HTML
  const e = document.createElement(tag);
  if (text != null) e.textContent = text;
  if (cls) e.className = cls;
  return e;
};

// Times on the station are Beijing time (UTC+8), 24-hour, whatever the device's own zone.
const utc8 = value => new Date(Date.parse(value) + 8 * 3600000).toISOString();
export const beijing = value => (value ? utc8(value).slice(5, 16).replace("T", " ") : "–");
export const beijingFull = value => (value ? utc8(value).slice(0, 19).replace("T", " ") : "–");
export function duration(ms) {
  const minutes = Math.max(0, Math.floor(ms / 60000));
  return minutes < 60 ? t("minutes", { m: minutes }) : t("hours", { h: Math.floor(minutes / 60), m: minutes % 60 });
}

// Who may record steps here: this yard's own staff. Regulators of the area, auditors, admins and an officer
// posted at the yard read the station (the API decides; this only hides what would be refused).
export const canRecord = () => state.me?.role === "yard" && state.me.site_id === yardId;
const mayUse = me => READERS.includes(me.role) || (["yard", "officer"].includes(me.role) && me.site_id === yardId);

async function signIn(ev, onSignedIn) {
  ev.preventDefault();
  $("signin-error").textContent = "";
  state.token = $("token").value.trim();
  try {
    const r = await api("/me");
    if (!r.ok) throw new Error(await refusal(r));
    const who = await r.json();
    if (!mayUse(who)) throw new Error(t("wrong_account"));
    state.me = who;
    localStorage.setItem(STORE.token, state.token);
    save(STORE.me, who);
    $("token").value = "";
    render();
    onSignedIn();
  } catch (e) {
    state.token = localStorage.getItem(STORE.token);
    $("signin-error").textContent = e.message;
  }
}

// ---- the queue of steps ----------------------------------------------------------------------------
const allSteps = () => load(STEPS_KEY, []);
export const queuedSteps = () => allSteps().filter(q => q.account_id === state.me?.account_id);
const dropStep = id => save(STEPS_KEY, allSteps().filter(q => q.body.client_event_id !== id));
let uploading = false;

// The clerk's words for a refused step: by the problem's code, else by the field it names, else its detail.
export async function refusal(response) {
  const p = await response.json().catch(() => ({}));
  if (p.code === "event_not_allowed" && p.details?.state) {
    return fill(TEXTS.refusals.event_not_allowed, {
      state: TEXTS.states[p.details.state] ?? p.details.state,
      allowed: (p.details.allowed || []).map(e => TEXTS.events[e] ?? e).join("、") || t("none_seen") });
  }
  if (p.code === "driver_not_cleared") {
    return (p.details?.reasons || []).map(code => TEXTS.reasons[code] ?? code).join("；");
  }
  if (TEXTS.refusals[p.code]) return TEXTS.refusals[p.code];
  const fields = Object.keys(p.errors || {}).filter(name => TEXTS.fields[name]);
  if (fields.length) return fields.map(name => TEXTS.fields[name]).join(" ");
  return t("refused", { reason: p.detail || p.title || `HTTP ${response.status}` });
}

// Record one step: sent now when online and nothing is waiting before it, else queued (in order) and
// uploaded when the network returns. The device chooses the step's id, so an upload repeated after a lost
// answer is recorded once. → {recorded: handover} | {queued: true} | {refused: text, code, reasons}
export async function recordStep(handoverId, fields) {
  const body = { ...fields, at: new Date().toISOString(), client_event_id: crypto.randomUUID() };
  const item = { account_id: state.me.account_id, handover_id: handoverId, body };
  if (navigator.onLine && !queuedSteps().length) {
    try {
      const r = await api(`/handovers/${handoverId}/events`, { method: "POST", body });
      if (r.ok) return { recorded: await r.json() };
      if (r.status === 401) { tokenRejected(); return { refused: TEXTS.refusals.unauthorized }; }
      if (r.status < 500) {
        const copy = r.clone();
        const p = await copy.json().catch(() => ({}));
        return { refused: await refusal(r), code: p.code, reasons: p.details?.reasons || [] };
      }
    } catch { /* the network went: queue it */ }
  }
  save(STEPS_KEY, [...allSteps(), item]);
  return { queued: true };
}

// Upload queued steps one by one, oldest first; a step leaves the queue after a 2xx, or when refused for
// good (4xx), which is then listed with the clerk's reason. onUploaded(handover) after each recorded step.
// Returns how many left the queue.
export async function uploadSteps(onUploaded) {
  if (uploading || !state.token || !state.me || !navigator.onLine) return 0;
  uploading = true;
  let done = 0;
  try {
    for (const item of queuedSteps()) {
      let r;
      try {
        r = await api(`/handovers/${item.handover_id}/events`, { method: "POST", body: item.body });
      } catch { break; }  // the network went again
      if (r.status === 401) { tokenRejected(); break; }
      if (r.status >= 500) break;  // try again later, in the same order
      dropStep(item.body.client_event_id);
      done += 1;
      if (r.ok) onUploaded(await r.json());
      else noteRefused(item, await refusal(r));
    }
  } finally {
    uploading = false;
    showPending();
  }
  return done;
}

function noteRefused(item, why) {
  const li = el("li", t("refused_queued", { time: beijing(item.body.at), step: TEXTS.events[item.body.type],
                                            load: `#${item.handover_id}`, reason: why }));
  li.dataset.refused = item.body.client_event_id;
  $("refusals").prepend(li);
}

export function showPending() {
  $("events-pending").textContent = String(queuedSteps().length);
}

// A token stored without its account (set by hand, or by an older page): ask who it is, once.
async function adoptToken() {
  try {
    const r = await api("/me");
    if (r.status === 401) { tokenRejected(); return; }
    const who = r.ok ? await r.json() : null;
    if (who && mayUse(who)) { state.me = who; save(STORE.me, who); }
  } catch { /* offline: the sign-in form shows */ }
}

// Wire what both pages share, then load the page's data. refresh() reloads it; onUploaded(handover) after
// each step uploaded from the queue.
export async function wireStation({ refresh, onUploaded }) {
  const upload = () => uploadSteps(onUploaded).then(done => { if (done) refresh(); });
  $("signin-form").addEventListener("submit", ev => signIn(ev, () => { refresh(); syncDocs(); upload(); }));
  $("sign-out").addEventListener("click", () => { signOut(); $("status").textContent = t("sign_in_first"); });
  $("upload-now").addEventListener("click", () => { syncDocs(); upload(); });
  window.addEventListener("online", () => { render(); upload(); syncDocs(); });
  window.addEventListener("offline", () => { render(); refresh(); });
  setInterval(syncDocs, SYNC_MS);
  setInterval(upload, UPLOAD_MS);
  if (state.token && !state.me) await adoptToken();
  render();
  showPending();
  parseStoredDocs().catch(e => { $("sync-error").textContent = t("offline_data_bad", { reason: e.message }); });
  if (state.token && state.me) {
    syncDocs();  // the trust list, status list and policy: a driver's pass is verified here when offline
    await refresh();
    upload();
  } else {
    $("status").textContent = t("sign_in_first");
  }
}
