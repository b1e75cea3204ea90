// GreenLane scanner page for checkpoint officers (GET /scan), loaded as a module: it wires the parts.
// store.js keeps the state and talks to the API, verify.js holds the offline rules of passes/verifier.py,
// view.js shows them (in Beijing time, clock.js), camera.js reads QR codes from the camera, queue.js scans,
// queues offline scans and syncs the documents, signin.js signs in; i18n.js reads the page's words, which
// the server renders from its catalog in the page's language.
import { t } from "./i18n.js";
import { state } from "./store.js";
import { parseStoredDocs, scan, syncDocs, uploadQueue } from "./queue.js";
import { wireSignIn } from "./signin.js";
import { checkPass, loadPolicy, loadSignedTrustList, loadStatusList, loadTestAges, loadTrustList } from "./verify.js";
import { $, clearInputs, render, startCamera } from "./view.js";
import { hasCamera } from "./camera.js";

const SYNC_MS = 60000, UPLOAD_MS = 15000, AGE_MS = 30000;

function init() {
  wireSignIn();
  $("scan-form").addEventListener("submit", async ev => {
    ev.preventDefault();  // the wedge scanner ends with Enter, which submits
    const qr = $("qr").value;
    if (!qr.trim()) { $("qr").focus(); return; }
    const plate = $("plate").value.trim();
    clearInputs();
    await scan(qr, plate);
  });
  // A scan typed into the plate field (it had the focus) moves to the QR field as soon as it shows.
  $("plate").addEventListener("input", () => {
    const v = $("plate").value, start = v.indexOf("GL1:");
    if (start >= 0) { $("plate").value = v.slice(0, start); $("qr").value += v.slice(start); $("qr").focus(); }
  });
  $("plate").addEventListener("keydown", ev => {  // Enter after typing the plate: on to the QR field
    if (ev.key === "Enter" && !$("qr").value.trim()) { ev.preventDefault(); $("qr").focus(); }
  });
  $("sync-now").addEventListener("click", () => { syncDocs().then(uploadQueue); });
  // The camera, where the device has one: the browser's BarcodeDetector or the app's zxing reads the code.
  $("camera-btn").addEventListener("click", () => startCamera(async qr => {
    await scan(qr, $("plate").value.trim());
    clearInputs();
  }));
  const offerCamera = () => hasCamera().then(yes => { $("camera-btn").hidden = !yes; });
  offerCamera();
  navigator.mediaDevices?.addEventListener?.("devicechange", offerCamera);  // e.g. a USB camera plugged in
  // The language links reach the server (they set a cookie); offline they would only show the browser's
  // error page, so say why and stay here. The page keeps working in the language it was loaded in.
  for (const link of document.querySelectorAll(".lang a")) {
    link.addEventListener("click", ev => {
      if (!navigator.onLine) { ev.preventDefault(); $("scan-note").textContent = t("switch_offline"); }
    });
  }
  window.addEventListener("online", () => { $("scan-note").textContent = ""; render(); uploadQueue().then(syncDocs); });
  window.addEventListener("offline", render);
  setInterval(() => { syncDocs(); }, SYNC_MS);
  setInterval(() => { uploadQueue(); }, UPLOAD_MS);
  setInterval(render, AGE_MS);  // the age of the synced data grows while offline
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/scan-sw.js", { scope: "/scan" }).catch(() => {});  // optional: offline reloads
  }
  render();
  parseStoredDocs().catch(e => { $("sync-error").textContent = t("offline_data_bad", { reason: e.message }); })
    .then(() => { if (state.token && state.me) { syncDocs().then(uploadQueue); $("qr").focus(); } });
}

// The rules, for tests that feed the same cases to this page and to passes/verifier.py.
window.GreenLaneVerifier = Object.freeze({ checkPass, loadTrustList, loadSignedTrustList, loadStatusList, loadTestAges,
                                          loadPolicy });
init();
