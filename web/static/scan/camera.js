// The scanner's camera: frames of the back camera are searched for a QR code by the browser's own
// BarcodeDetector where it has one that reads QR codes (Chrome on Android), else by the zxing decoder the app
// serves itself (web/static/vendor/zxing-library-*/, loaded on first use; iOS Safari, desktop browsers).
// Works on the page's #camera video and #scan-error line, and on its #camera-btn button and #verdict if it has them.
import { t } from "./i18n.js";

const ZXING_URL = new URL("../vendor/zxing-library-0.23.0/index.min.js", import.meta.url).href;
const LOOK_EVERY_MS = 100;  // pause between two looks at the camera: the page stays responsive
const MAX_SIDE_PX = 960;    // a larger frame is scaled down before decoding (time grows with its pixels)
const ODD_FRAMES_MAX = 30;  // frames in a row the decoder failed on (not "no code": an error) before giving up
const $ = id => document.getElementById(id);

// Whether a camera can be offered: the browser can open one, and it does not list devices without a camera
// among them (before the permission is given some browsers list none at all: then it is offered, and a
// press on a device without one says what to use instead).
export async function hasCamera() {
  if (!navigator.mediaDevices?.getUserMedia) return false;  // e.g. not a secure context
  try {
    const devices = await navigator.mediaDevices.enumerateDevices();
    return devices.length === 0 || devices.some(d => d.kind === "videoinput");
  } catch { return true; }  // cannot tell: offer it, and say what went wrong if it fails
}

// The zxing library (a UMD build: importing it defines globalThis.ZXing).
export async function loadZxing() {
  if (!globalThis.ZXing) await import(ZXING_URL);
  return globalThis.ZXing;
}

// decode(canvas) → the text of the QR code in the canvas's picture, or null if it shows none (yet).
export async function canvasDecoder() {
  const Z = await loadZxing();
  const reader = new Z.QRCodeReader();
  const hints = new Map([[Z.DecodeHintType.POSSIBLE_FORMATS, [Z.BarcodeFormat.QR_CODE]]]);
  const smaller = document.createElement('canvas');
  const read = canvas => {
    try {
      const bitmap = new Z.BinaryBitmap(new Z.HybridBinarizer(new Z.HTMLCanvasElementLuminanceSource(canvas)));
      return reader.decode(bitmap, hints).getText();
    } catch (e) {  // the frame has no readable code: blurred, partly seen, no code at all
      if (e instanceof Z.NotFoundException || e instanceof Z.ChecksumException || e instanceof Z.FormatException) {
        return null;
      }
      throw e;
    } finally {
      reader.reset();
    }
  };
  // zxing's detector misjudges the size of about one sharp code in ten at a given scale ("dimensions could
  // not be found"); the same picture at 1/2 or 3/4 size reads (measured on 180 pass-sized codes: 1 left).
  const scaled = (canvas, factor) => {
    smaller.width = Math.round(canvas.width * factor);
    smaller.height = Math.round(canvas.height * factor);
    smaller.getContext('2d').drawImage(canvas, 0, 0, smaller.width, smaller.height);
    return smaller;
  };
  return canvas => read(canvas) ?? read(scaled(canvas, 0.5)) ?? read(scaled(canvas, 0.75));
}

// look(video) → the text of a QR code in the video's current frame, or null.
async function frameReader() {
  if ("BarcodeDetector" in window) {
    try {
      if ((await BarcodeDetector.getSupportedFormats()).includes("qr_code")) {
        const detector = new BarcodeDetector({ formats: ["qr_code"] });
        return async video => (await detector.detect(video))[0]?.rawValue ?? null;
      }
    } catch { /* a detector that cannot be used: fall back to zxing */ }
  }
  const decode = await canvasDecoder();
  const canvas = document.createElement("canvas");
  const context = canvas.getContext("2d", { willReadFrequently: true });
  return async video => {
    const scale = Math.min(1, MAX_SIDE_PX / Math.max(video.videoWidth, video.videoHeight));
    canvas.width = Math.round(video.videoWidth * scale);
    canvas.height = Math.round(video.videoHeight * scale);
    if (!canvas.width || !canvas.height) return null;  // no frame yet
    context.drawImage(video, 0, 0, canvas.width, canvas.height);
    return decode(canvas);
  };
}

// The camera is off, or opening, or on; each opening has its number, so that a press (or a hidden tab) while
// the browser is still opening it closes that opening too.
let active = false, opening = 0, stream = null, timer = null;

export function stopCamera() {
  active = false;
  opening++;
  clearTimeout(timer);
  stream?.getTracks().forEach(track => track.stop());
  stream = null;
  const video = $("camera"), button = $("camera-btn");
  video.srcObject = null;
  video.hidden = true;
  if (button?.dataset.label) button.textContent = button.dataset.label;
}

function cameraError(e) {
  if (e?.name === "NotAllowedError" || e?.name === "SecurityError") return t("camera_denied");
  if (e?.name === "NotFoundError" || e?.name === "OverconstrainedError") return t("camera_missing");
  return t("camera_failed", { reason: e?.message || String(e) });
}

// Open the camera (a second press closes it); onCode(text) gets the first QR code seen, the camera is off
// by then. The previous verdict is hidden meanwhile: it belongs to the vehicle before.
export async function startCamera(onCode) {
  if (active) { stopCamera(); return; }
  active = true;
  const mine = ++opening, current = () => mine === opening;
  const video = $("camera"), button = $("camera-btn");
  $("scan-error").textContent = "";
  if (button) {
    button.dataset.label ??= button.textContent;
    button.textContent = t("camera_stop");
  }
  const opened = navigator.mediaDevices.getUserMedia({
    audio: false, video: { facingMode: "environment", width: { ideal: 1280 }, height: { ideal: 720 } } });
  opened.then(media => { if (!current()) media.getTracks().forEach(track => track.stop()); }, () => {});
  try {
    const [look, media] = await Promise.all([frameReader(), opened]);
    if (!current()) return;  // closed while opening (its tracks are stopped above)
    stream = media;
    video.srcObject = media;
    video.hidden = false;
    const verdict = $("verdict");
    if (verdict) verdict.hidden = true;
    await video.play();
    video.scrollIntoView({ block: "nearest" });
    let odd = 0;  // one odd frame (half drawn, a glitch) must not close the camera; a decoder that always fails does
    const again = async () => {
      if (!current()) return;
      let text = null;
      try {
        text = await look(video);
        odd = 0;
      } catch (e) {
        if (++odd >= ODD_FRAMES_MAX) throw e;
      }
      if (!current()) return;
      if (!text) { timer = setTimeout(() => again().catch(failed), LOOK_EVERY_MS); return; }
      stopCamera();
      await onCode(text);
    };
    const failed = e => { if (current()) { stopCamera(); $("scan-error").textContent = cameraError(e); } };
    await again().catch(failed);
  } catch (e) {
    if (current()) { stopCamera(); $("scan-error").textContent = cameraError(e); }
  }
}

// A camera left on in a background tab keeps its light on and drains the battery.
document.addEventListener("visibilitychange", () => { if (document.hidden && stream) stopCamera(); });
