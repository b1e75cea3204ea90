// The scanner page's view: the verdict, the sign-in/scanner switch and the sync line (the camera is in
// camera.js). Everything shown is set with textContent: nothing scanned is ever parsed as HTML.
// Times are shown in Beijing time (clock.js), whatever the device's time zone.
import { STORE, load, queue, state } from "./store.js";
import { reasonText, t } from "./i18n.js";
import { ageText, beijingDateTime, beijingTime } from "./clock.js";

export { startCamera } from "./camera.js";

export const $ = id => document.getElementById(id);
const el = (tag, text, cls) => {  // textContent only: nothing scanned is ever parsed as HTML
  const e = document.createElement(tag);
  if (text != null) e.textContent = text;
  if (cls) e.className = cls;
  return e;
};
const chinaTime = ms => t("beijing_time", { time: beijingDateTime(ms) });
const scanTime = item => beijingTime(Date.parse(item.scan.scanned_at), { seconds: true });

export function showVerdict(v, mode) {
  const box = $("verdict");
  box.hidden = false;
  box.dataset.verdict = v.verdict;
  box.dataset.mode = mode;
  $("verdict-word").textContent = t(v.verdict === "accept" ? "accept" : "reject");
  $("verdict-mode").textContent = t(mode === "online" ? "online_check" : "offline_check");
  $("plate-big").textContent = v.pass ? [v.pass.plate, v.pass.hk_plate].filter(Boolean).join(" / ") : "";
  $("plate-seen").textContent = v.plateSeen ? t("plate_seen", { plate: v.plateSeen }) : "";
  const list = $("reasons");
  list.replaceChildren(...v.reasons.map(code => {
    const li = el("li", reasonText(code));
    li.dataset.reason = code;
    return li;
  }));
  if (v.note) list.append(el("li", v.note));
  const rows = v.pass ? [[t("pass"), v.pass.id], [t("scope"), v.pass.scope.join("; ")],
    [t("valid_until"), chinaTime(v.pass.validUntil)], [t("firm"), v.pass.firm ?? t("online_only")],
    [t("drivers"), v.pass.drivers ? v.pass.drivers.join("; ") : t("online_only")]] : [];
  $("details").replaceChildren(...rows.flatMap(([k, x]) => [el("dt", k), el("dd", x)]));
  // The verdict, its reasons and the plate are read at a glance: if the page was scrolled, or a long verdict
  // (many reasons, two plates) ends below the screen, it moves up to the top of the screen.
  if (box.getBoundingClientRect().top < 0 || list.getBoundingClientRect().bottom > window.innerHeight) {
    box.scrollIntoView({ block: "start" });
  }
}

// The server may judge an offline scan differently (a newer status, health tests, clones): tell the officer.
export function noteDisagreement(item, answer) {
  const li = el("li", t("disagreement", { time: scanTime(item),
    plate: item.plate || "?", offline: t(item.offline), server: t(answer.verdict) }));
  li.dataset.server = answer.verdict;
  li.dataset.reasons = answer.reasons.join(" ");
  if (answer.reasons.length) li.append(el("span", answer.reasons.map(reasonText).join("; "), "why"));
  $("disagreements").prepend(li);
}

// A queued scan the server will never accept (422): it leaves the queue and stays listed here.
export function noteRefused(item, why) {
  const li = el("li", t("refused", { time: scanTime(item),
    plate: item.plate || "?", reason: why }));
  li.dataset.refused = item.scan.client_scan_id;
  $("disagreements").prepend(li);
}

export function render() {
  const online = navigator.onLine;
  $("net").dataset.online = String(online);
  $("net").textContent = t(online ? "online" : "offline");
  const { me } = state;
  const signedIn = Boolean(state.token && me);
  $("signin").hidden = signedIn;
  $("scanner").hidden = !signedIn;
  $("who").hidden = $("sign-out").hidden = !signedIn;
  if (!signedIn) return;
  $("site-name").textContent = me.site ? me.site.name : t("no_site");
  $("officer-name").textContent = me.name;
  const queued = $("queue-len");  // the yard station shows its own queue (of steps) instead
  if (queued) queued.textContent = String(queue().filter(q => q.account_id === me.account_id).length);
  const last = load(STORE.lastSync, null);
  // "14:05 (3 h ago)": when the offline data was fetched, and how old it is now (render() runs every minute).
  $("last-sync").textContent = last ? t("synced_at", { time: beijingTime(last), age: ageText(last) }) : "—";
}

export function tokenRejected() {
  state.token = null;
  localStorage.removeItem(STORE.token);  // the queue is kept: it uploads once the account signs in again
  $("signin-error").textContent = t("token_rejected");
  render();
}

// Ready for the next vehicle; the focus moves without scrolling the verdict away.
export function clearInputs() { $("qr").value = ""; $("plate").value = ""; $("qr").focus({ preventScroll: true }); }
