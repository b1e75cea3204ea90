// The scanner page's view: the verdict, the sign-in/scanner switch, the sync line, and the camera.
// Everything shown is set with textContent: nothing scanned is ever parsed as HTML.
import { STORE, load, queue, state } from "./store.js";
import { REASON_TEXT } from "./verify.js";

export const $ = id => document.getElementById(id);
const el = (tag, text, cls) => {  // textContent only: nothing scanned is ever parsed as HTML
  const e = document.createElement(tag);
  if (text != null) e.textContent = text;
  if (cls) e.className = cls;
  return e;
};
const chinaTime = ms => new Date(ms + 8 * 3600000).toISOString().slice(0, 16).replace("T", " ") + " (UTC+8)";

export function showVerdict(v, mode) {
  const box = $("verdict");
  box.hidden = false;
  box.dataset.verdict = v.verdict;
  box.dataset.mode = mode;
  $("verdict-word").textContent = v.verdict === "accept" ? "通过 ACCEPT" : "拒绝 REJECT";
  $("verdict-mode").textContent = mode === "online" ? "在线核验 online" : "离线核验 offline";
  $("plate-big").textContent = v.pass ? [v.pass.plate, v.pass.hk_plate].filter(Boolean).join(" / ") : "";
  $("plate-seen").textContent = v.plateSeen ? `所见车牌 Plate seen: ${v.plateSeen}` : "";
  const list = $("reasons");
  list.replaceChildren(...v.reasons.map(code => {
    const [zh, en] = REASON_TEXT[code] || [code, code];
    const li = el("li");
    li.dataset.reason = code;
    li.append(el("strong", zh), " ", el("span", en), " ", el("code", code));
    return li;
  }));
  if (v.note) list.append(el("li", v.note));
  const rows = v.pass ? [["通行证 Pass", v.pass.id], ["范围 Scope", v.pass.scope.join("；")],
    ["有效至 Valid until", chinaTime(v.pass.validUntil)], ["企业 Firm", v.pass.firm ?? "— (仅在线 online only)"],
    ["司机 Drivers", v.pass.drivers ? v.pass.drivers.join("；") : "— (仅在线 online only)"]] : [];
  $("details").replaceChildren(...rows.flatMap(([k, x]) => [el("dt", k), el("dd", x)]));
}

// The server may judge an offline scan differently (a newer status, health tests, clones): tell the officer.
export function noteDisagreement(item, answer) {
  const li = el("li", `${new Date(item.scan.scanned_at).toLocaleTimeString()} ${item.plate || "?"}: `);
  li.append(`离线 offline ${item.offline} → 服务器 server ${answer.verdict} `, el("code", answer.reasons.join(", ")));
  $("disagreements").prepend(li);
}

// A queued scan the server will never accept (422): it leaves the queue and stays listed here.
export function noteRefused(item, why) {
  const li = el("li", `${new Date(item.scan.scanned_at).toLocaleTimeString()} ${item.plate || "?"}: `);
  li.dataset.refused = item.scan.client_scan_id;
  li.append(`服务器拒收，已移出队列 Refused by the server, removed from the queue: ${why}`);
  $("disagreements").prepend(li);
}

export function render() {
  const online = navigator.onLine;
  $("net").dataset.online = String(online);
  $("net").textContent = online ? "在线 Online" : "离线 Offline";
  const { me } = state;
  const signedIn = Boolean(state.token && me);
  $("signin").hidden = signedIn;
  $("scanner").hidden = !signedIn;
  $("who").hidden = !signedIn;
  if (!signedIn) return;
  $("site-name").textContent = me.site ? me.site.name : "（未绑定站点 no site）";
  $("officer-name").textContent = me.name;
  $("queue-len").textContent = String(queue().filter(q => q.account_id === me.account_id).length);
  const last = load(STORE.lastSync, null);
  $("last-sync").textContent = last ? new Date(last).toLocaleTimeString() : "—";
}

export function tokenRejected() {
  state.token = null;
  localStorage.removeItem(STORE.token);  // the queue is kept: it uploads once the account signs in again
  $("signin-error").textContent = "令牌无效或已吊销，请重新登录 The token is unknown or revoked: sign in again";
  render();
}

// ---- camera (BarcodeDetector, where the browser has it) ------------------------------------------
let cameraStream = null;
function stopCamera() {
  cameraStream?.getTracks().forEach(t => t.stop());
  cameraStream = null;
  $("camera").hidden = true;
}
// onCode(text) gets the first QR code seen; the camera is off by then.
export async function startCamera(onCode) {
  if (cameraStream) { stopCamera(); return; }
  try {
    const detector = new BarcodeDetector({ formats: ["qr_code"] });
    cameraStream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
    const video = $("camera");
    video.srcObject = cameraStream;
    video.hidden = false;
    await video.play();
    const look = async () => {
      if (!cameraStream) return;
      const codes = await detector.detect(video).catch(() => []);
      if (codes.length) { stopCamera(); await onCode(codes[0].rawValue); }
      else setTimeout(look, 150);
    };
    look();
  } catch (e) {
    stopCamera();
    $("scan-error").textContent = `摄像头不可用 Camera unavailable: ${e.message}`;
  }
}

export function clearInputs() { $("qr").value = ""; $("plate").value = ""; $("qr").focus(); }
