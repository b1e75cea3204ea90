// The scanner page's scans and its offline queue: each scan is sent to POST /api/v1/scans and the server's
// verdict shown; without network the pass is verified here (verify.js) against the signed trust list, status
// list, test ages list and policy bundle synced while online, and the scan is queued (localStorage) with its
// client_scan_id. How old those documents are is always on the page, loudly once they near their expiry.
// The queue is uploaded when the network returns, and the server deduplicates by that id, so an upload
// that is repeated (reload, retry, two tabs) is recorded once.
import { STORE, api, dequeue, load, problem, queue, save, state } from "./store.js";
import { checkPass, documentAges, fromB64, loadPolicy, loadSignedTrustList, loadStatusList, loadTestAges,
         toB64 } from "./verify.js";
import { areaName, lang, t } from "./i18n.js";
import { $, noteDisagreement, noteRefused, render, showVerdict, tokenRejected } from "./view.js";

const AREAS_MAX_AGE_MS = 86400000;
let uploading = false, syncing = false;

// ---- the four synced documents and the account --------------------------------------------------------
export async function parseStoredDocs() {
  const docs = load(STORE.docs, {});
  // A copy from before the signed trust list (a JSON body) is not used: the next sync replaces it.
  if (!docs.trust || !docs.status || !docs.policy || !docs.ages || typeof docs.trust.body !== "string") {
    state.offlineData = null;
  } else {
    const { keys, trust } = await loadSignedTrustList(fromB64(docs.trust.body));
    state.offlineData = { keys, trust, statusList: await loadStatusList(fromB64(docs.status.body), keys),
                          testAges: await loadTestAges(fromB64(docs.ages.body), keys),
                          policy: await loadPolicy(fromB64(docs.policy.body), keys) };
  }
  showDataAge();
}

// Fetch the four documents (only what changed), check them before replacing the stored copies. A document
// older than one this device already accepted (a lower version: a stale cache or a replay) is refused and
// the stored copies are kept; the highest versions seen stay in localStorage (STORE.seen).
export async function syncDocs() {
  if (syncing || !state.token || !navigator.onLine) return;
  syncing = true;
  try {
    const docs = load(STORE.docs, {}), seen = load(STORE.seen, {});
    const trustResponse = await api("/trust-list/signed");
    if (!trustResponse.ok) throw new Error(`trust list: HTTP ${trustResponse.status}`);
    const trustBytes = new Uint8Array(await trustResponse.arrayBuffer());
    const { keys } = await loadSignedTrustList(trustBytes);
    const next = { ...docs, trust: { body: toB64(trustBytes) } };
    const signed = [["status", "/status-list", loadStatusList], ["ages", "/test-ages", loadTestAges],
                    ["policy", "/policy-bundle", loadPolicy]];
    for (const [name, path, check] of signed) {
      const r = await api(path, { etag: docs[name]?.etag });
      if (r.status === 304) continue;
      if (!r.ok) throw new Error(`${path}: HTTP ${r.status}`);
      const bytes = new Uint8Array(await r.arrayBuffer());
      const version = Number((await check(bytes, keys)).version);  // throws on a bad signature or content
      if (version < (seen[name] ?? 0)) {
        throw new Error(t("rollback", { name: t(`doc_${name}`), version, seen: seen[name] }));
      }
      seen[name] = version;
      next[name] = { body: toB64(bytes), etag: r.headers.get("ETag") };
    }
    save(STORE.docs, next);
    save(STORE.seen, seen);
    await parseStoredDocs();  // re-checked with the new trust list (a key may have been revoked)
    await refreshMe();
    await refreshAreas();
    save(STORE.lastSync, Date.now());
    $("sync-error").textContent = "";
  } catch (e) {
    $("sync-error").textContent = t("sync_failed", { reason: e.message });
  } finally {
    syncing = false;
    render();
  }
}

// ---- how old the documents are ----------------------------------------------------------------------
// Beijing time, 24-hour; the month spelt out in English, where 02/01 could be read either way.
const BEIJING = new Intl.DateTimeFormat(lang === "en" ? "en-GB" : "zh-CN", {
  timeZone: "Asia/Shanghai", month: lang === "en" ? "short" : "2-digit", day: "2-digit", hour: "2-digit",
  minute: "2-digit", hourCycle: "h23" });
const beijing = seconds => BEIJING.format(new Date(seconds * 1000));
function duration(seconds) {
  const minutes = Math.max(0, Math.floor(seconds / 60));
  if (minutes < 60) return t("n_minutes", { n: minutes });
  return minutes < 48 * 60 ? t("n_hours", { n: Math.floor(minutes / 60) }) : t("n_days", { n: Math.floor(minutes / 1440) });
}
let ageTimer = null;

// The age of the oldest document and the expiry of the first to expire, always shown; a banner from 75 %
// of a lifetime on (sync soon), and a red one past an expiry (every offline verdict is then a refusal).
export function showDataAge() {
  ageTimer ??= setInterval(showDataAge, 60000);
  const age = $("data-age"), banner = $("data-alert"), data = state.offlineData;
  if (!age || !banner) return;
  if (!data) { age.textContent = "—"; banner.hidden = true; return; }
  const now = Math.floor(Date.now() / 1000), docs = documentAges(data, now);
  const oldest = docs.reduce((a, b) => (b.issuedAt < a.issuedAt ? b : a));
  const first = docs.reduce((a, b) => (b.expiresAt < a.expiresAt ? b : a));
  age.textContent = t(now >= first.expiresAt ? "data_age_expired" : "data_age",
                      { age: duration(now - oldest.issuedAt), until: beijing(first.expiresAt) });
  const expired = docs.filter(d => d.expired);
  banner.dataset.level = expired.length ? "expired" : docs.some(d => d.warn) ? "warn" : "";
  banner.hidden = !banner.dataset.level;
  banner.textContent = expired.length ? t("data_expired", { names: expired.map(d => t(`doc_${d.name}`)).join(t("list_sep")) })
    : banner.dataset.level ? t("data_warn", { left: duration(first.expiresAt - now), until: beijing(first.expiresAt) }) : "";
}

async function refreshMe() {
  const r = await api("/me");
  if (r.status === 401) { tokenRejected(); return; }
  if (r.ok) { state.me = await r.json(); save(STORE.me, state.me); }
}

async function refreshAreas() {  // names for the scope shown offline; the list is small and rarely changes
  const cached = load(STORE.areas, null);
  if (cached && Date.now() - cached.at < AREAS_MAX_AGE_MS) return;
  const r = await api("/areas");
  if (!r.ok) return;
  const names = Object.fromEntries((await r.json()).map(a => [a.code, [a.name_zh, a.name_en]]));
  save(STORE.areas, { at: Date.now(), names });
}

// ---- the queue --------------------------------------------------------------------------------------
// Upload queued scans one by one; an item leaves the queue only after a 2xx.
export async function uploadQueue() {
  if (uploading || !state.token || !state.me || !navigator.onLine) return;
  uploading = true;
  try {
    for (const item of queue().filter(q => q.account_id === state.me.account_id)) {
      let r;
      try { r = await api("/scans", { method: "POST", body: item.scan }); } catch { break; }  // network gone
      if (r.status === 401) { tokenRejected(); break; }
      if (r.ok) {
        const answer = await r.json();
        dequeue(item.scan.client_scan_id);
        if (answer.verdict !== item.offline) noteDisagreement(item, answer);
      } else if (r.status === 422) {  // refused for good (e.g. a scan time out of bounds): drop it, say so
        dequeue(item.scan.client_scan_id);
        noteRefused(item, await problem(r));
      } else {
        $("sync-error").textContent = t("upload_failed", { scan: item.scan.client_scan_id, reason: await problem(r) });
        if (r.status >= 500) break;  // the server is down (503 while its database is): the rest waits too
      }
    }
  } finally {
    uploading = false;
    render();
  }
}

// ---- scanning -------------------------------------------------------------------------------------
// Verify one scan (online, or here when offline) and show the verdict; offline scans are queued.
export async function scan(qr, plateSeen) {
  try {
    await verifyAndRecord(qr, plateSeen);
  } catch (e) {  // e.g. storage full: say so rather than show nothing
    $("scan-error").textContent = t("scan_failed", { reason: e.message });
  } finally {
    render();
  }
}

async function verifyAndRecord(qr, plateSeen) {
  $("scan-error").textContent = "";
  const body = { qr, plate_seen: plateSeen || null, scanned_at: new Date().toISOString(),
                 client_scan_id: crypto.randomUUID() };
  if (navigator.onLine) {
    try {
      const r = await api("/scans", { method: "POST", body });
      if (r.ok) {
        const answer = await r.json();
        showVerdict(fromServer(answer, plateSeen), "online");
        return;
      }
      if (r.status === 401) tokenRejected();
      else if (r.status < 500) {  // refused (e.g. a clock far ahead): it would be refused again later
        $("scan-error").textContent = t("server_refused", { reason: await problem(r) });
        showVerdict(await localVerdict(body), "offline");
        return;
      }
    } catch { /* no network after all: verify here */ }
  }
  const local = await localVerdict(body);
  showDataAge();
  save(STORE.queue, [...queue(), { account_id: state.me.account_id, scan: body, offline: local.verdict,
                                   plate: local.pass?.plate }]);
  showVerdict(local, "offline");
}

export async function localVerdict(body) {
  const { me, offlineData } = state;
  if (!offlineData || !me?.site) {
    return { verdict: "reject", reasons: [], plateSeen: body.plate_seen,
             note: t("no_offline_data") };
  }
  const at = Math.floor(Date.parse(body.scanned_at) / 1000);
  const v = await checkPass(body.qr, { ...offlineData, siteArea: me.site.area_code, siteId: me.site.id, at,
                                       plateSeen: body.plate_seen });
  const names = load(STORE.areas, { names: {} }).names;
  const c = v.claims;
  return { verdict: v.reasons.length ? "reject" : "accept", reasons: v.reasons, plateSeen: body.plate_seen,
    pass: c && { id: c.passId, plate: c.plate, hk_plate: c.hkPlate, validUntil: Number(c.validUntil) * 1000,
                 scope: c.scope.map(code => names[code] ? `${areaName(...names[code])} (${code})` : String(code)) } };
}

function fromServer(a, plateSeen) {
  const p = a.pass;
  return { verdict: a.verdict, reasons: a.reasons, plateSeen, pass: p && {
    id: p.id, plate: p.plate, hk_plate: p.hk_plate, validUntil: Date.parse(p.valid_until), firm: p.firm,
    scope: p.scope.map(s => `${areaName(s.name_zh, s.name_en)} (${s.code})`),
    drivers: p.drivers.map(d => `${d.name} ${d.id_number}`) } };
}
