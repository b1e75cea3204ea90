// The scanner page's offline verifier: the rules of passes/verifier.py check_pass, run in the browser
// against the trust list, status list and policy bundle synced while online. Pure: no DOM, no storage.
// No dependencies: a small CBOR decoder/encoder, base45, WebCrypto Ed25519, DecompressionStream.
const MAX_PASS = 4096, MAX_QR_TEXT = 4 + (MAX_PASS * 3 + 1 >> 1), MAX_DOC = 8 << 20, MAX_BITS = 16 << 20;

// The 19 reason codes of passes/verifier.REASONS, in its order (verdicts list them in this order). What an
// officer reads for each comes from the server's catalog (web/scan.py REASON_TEXTS), not from here.
export const REASONS = Object.freeze(["malformed", "bad_signature", "unknown_key", "key_revoked",
  "stale_trust_list", "stale_status_list", "stale_policy", "revoked", "suspended", "not_yet_valid", "expired",
  "out_of_scope", "sealed_zone", "site_required", "test_missing", "test_stale", "test_positive", "plate_mismatch",
  "clone_suspected"]);
export const WARN_AT = 0.75;  // passes.verifier.WARN_AT: share of a document's lifetime after which to warn
// Python's str.strip() and re \s: JavaScript's trim() and \s differ (U+FEFF, U+001C-1F, U+0085).
const PY_SPACE = "\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
const PY_STRIP = new RegExp(`^[${PY_SPACE}]+|[${PY_SPACE}]+$`, "gu");
const PY_SPACES = new RegExp(`[${PY_SPACE}]`, "gu");
const PLATE_DOTS = /[·•・･‧.\-]/gu;

// ---- bytes ---------------------------------------------------------------------------------------------
const hex = b => Array.from(b, x => x.toString(16).padStart(2, "0")).join("");
const sameBytes = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
export const toB64 = b => {  // in slices: spreading megabytes into one call would overflow the stack
  let s = "";
  for (let i = 0; i < b.length; i += 0x8000) s += String.fromCharCode(...b.subarray(i, i + 0x8000));
  return btoa(s);
};
export const fromB64 = s => Uint8Array.from(atob(s), c => c.charCodeAt(0));
class Malformed extends Error {}

// Strict inverse of base64url without padding, like core.signing.b64url_decode.
function b64urlDecode(s) {
  if (typeof s !== "string" || !/^[A-Za-z0-9_-]*$/.test(s) || s.length % 4 === 1) throw new Error("bad base64url");
  const bytes = fromB64(s.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat(-s.length & 3));
  const back = toB64(bytes).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  if (back !== s) throw new Error("non-canonical base64url");  // stray low bits: two spellings of one key
  return bytes;
}

// ---- CBOR (RFC 8949) ------------------------------------------------------------------------------
// Like core.signing.loads_strict: one item, no tags, no indefinite lengths, no duplicate keys, no
// trailing bytes. Non-shortest lengths are accepted here as cbor2 does; the callers re-encode where
// Python demands the deterministic form. Floats and simple values other than false/true/null never
// pass any check of ours, so they are refused outright. Integers beyond 2^53 come back as BigInt.
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });  // keep a BOM, as Python does
function cborDecode(bytes, maxSize) {
  if (!bytes.length || bytes.length > maxSize) throw new Malformed("empty or too large");
  let pos = 0;
  const need = n => { if (n > bytes.length - pos) throw new Malformed("truncated"); };
  function argument(ai) {
    if (ai < 24) return ai;
    const size = { 24: 1, 25: 2, 26: 4, 27: 8 }[ai];
    if (!size) throw new Malformed("indefinite or reserved length");
    need(size);
    let v = 0n;
    for (let i = 0; i < size; i++) v = v << 8n | BigInt(bytes[pos++]);
    return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  }
  function item(depth) {
    if (depth > 16) throw new Malformed("too deep");
    need(1);
    const major = bytes[pos] >> 5, ai = bytes[pos] & 31;
    pos += 1;
    if (major === 7) {
      if (ai >= 20 && ai <= 22) return [false, true, null][ai - 20];
      throw new Malformed("float or simple value");
    }
    if (major === 6) throw new Malformed("tags are not allowed");
    const n = argument(ai);
    if (major === 0) return n;
    if (major === 1) return typeof n === "number" && n < Number.MAX_SAFE_INTEGER ? -1 - n : -1n - BigInt(n);
    if (typeof n === "bigint" || n > bytes.length - pos) throw new Malformed("length beyond the data");
    if (major === 2 || major === 3) {
      const b = bytes.subarray(pos, pos + n);
      pos += n;
      if (major === 2) return b;
      try { return utf8.decode(b); } catch { throw new Malformed("invalid UTF-8"); }
    }
    if (major === 4) return Array.from({ length: n }, () => item(depth + 1));
    const map = new Map();
    for (let i = 0; i < n; i++) {
      const key = item(depth + 1);
      if (typeof key === "object" && key !== null) throw new Malformed("unsupported map key");
      if (map.has(key)) throw new Malformed("duplicate map key");
      map.set(key, item(depth + 1));
    }
    return map;
  }
  const value = item(0);
  if (pos !== bytes.length) throw new Malformed("trailing bytes");
  return value;
}

// Shortest-form encoder for what we build or re-encode: uints, text, bytes, arrays, Maps (in their order).
function cborEncode(value) {
  const out = [];
  const head = (major, n) => {
    const big = BigInt(n);
    if (big < 24n) out.push(major << 5 | Number(big));
    else {
      const size = big < 0x100n ? 1 : big < 0x10000n ? 2 : big < 0x100000000n ? 4 : 8;
      out.push(major << 5 | { 1: 24, 2: 25, 4: 26, 8: 27 }[size]);
      for (let i = size - 1; i >= 0; i--) out.push(Number(big >> BigInt(8 * i) & 0xffn));
    }
  };
  const bytes = b => { for (const x of b) out.push(x); };
  (function enc(v) {
    if (typeof v === "number" || typeof v === "bigint") {
      if (v < 0) throw new Error("only unsigned integers are encoded");
      head(0, v);
    } else if (typeof v === "string") { const b = new TextEncoder().encode(v); head(3, b.length); bytes(b); }
    else if (v instanceof Uint8Array) { head(2, v.length); bytes(v); }
    else if (Array.isArray(v)) { head(4, v.length); v.forEach(enc); }
    else if (v instanceof Map) { head(5, v.size); for (const [k, x] of v) { enc(k); enc(x); } }
    else throw new Error("cannot encode " + typeof v);
  })(value);
  return Uint8Array.from(out);
}

// ---- COSE_Sign1 and the pass format (docs/pass-format.md) -----------------------------------------
const B45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
function base45Decode(s) {
  const digits = Array.from(s, c => {
    const d = B45.indexOf(c);
    if (d < 0) throw new Malformed("invalid base45");
    return d;
  });
  if (digits.length % 3 === 1) throw new Malformed("invalid base45 length");
  const out = [];
  for (let i = 0; i < digits.length; i += 3) {
    if (digits.length - i >= 3) {
      const x = digits[i] + digits[i + 1] * 45 + digits[i + 2] * 2025;
      if (x > 0xffff) throw new Malformed("invalid base45");
      out.push(x >> 8, x & 0xff);
    } else {
      const x = digits[i] + digits[i + 1] * 45;
      if (x > 0xff) throw new Malformed("invalid base45");
      out.push(x);
    }
  }
  return Uint8Array.from(out);
}

function fromQrText(text) {  // passes.format.from_qr_text
  const t = text.replace(PY_STRIP, "");
  if (Array.from(t).length > MAX_QR_TEXT) throw new Malformed("QR text too long");
  if (!t.startsWith("GL1:")) throw new Malformed("missing GL1: prefix");
  return base45Decode(t.slice(4));
}

// core.signing.decode_sign1: only the deterministic encoding of [protected, {}, payload, sig(64)].
function decodeSign1(cose, maxSize) {
  const body = cose[0] === 0xd2 ? cose.subarray(1) : cose;  // 0xd2 = tag 18
  const msg = cborDecode(body, maxSize);
  if (!Array.isArray(msg) || msg.length !== 4) throw new Malformed("COSE_Sign1 must be an array of 4");
  const [prot, unprot, payload, sig] = msg;
  if (![prot, payload, sig].every(b => b instanceof Uint8Array)) throw new Malformed("byte strings expected");
  if (!(unprot instanceof Map) || unprot.size) throw new Malformed("unprotected header must be empty");
  if (sig.length !== 64) throw new Malformed("Ed25519 signature must be 64 bytes");
  if (!sameBytes(cborEncode([prot, new Map(), payload, sig]), body)) throw new Malformed("non-deterministic COSE");
  // Python decodes the header and then demands that it re-encodes to itself as {1: -8, 4: kid(8)}:
  // exactly the bytes a2 01 27 04 48 followed by the 8-byte kid.
  if (prot.length !== 13 || !sameBytes(prot.subarray(0, 5), [0xa2, 0x01, 0x27, 0x04, 0x48])) {
    throw new Malformed("protected header");
  }
  return { prot, kid: prot.subarray(5), payload, sig };
}

async function verifySignature(info, msg) {
  try {
    info.cryptoKey ??= await crypto.subtle.importKey("raw", info.x, { name: "Ed25519" }, false, ["verify"]);
    const signed = cborEncode(["Signature1", msg.prot, new Uint8Array(0), msg.payload]);
    return await crypto.subtle.verify({ name: "Ed25519" }, info.cryptoKey, msg.sig, signed);
  } catch (e) {
    if (e instanceof DOMException) return false;  // a key that is not a curve point verifies nothing
    throw e;
  }
}

// core.signing.verify for synced documents: any key that is not revoked. Returns the payload.
async function verifyDocument(cose, keys) {
  const msg = decodeSign1(cose, MAX_DOC);
  const info = keys.get(hex(msg.kid));
  if (!info || info.status === "revoked") throw new Error("document signed by an unknown or revoked key");
  if (!(await verifySignature(info, msg))) throw new Error("bad document signature");
  return msg.payload;
}

const isUint = v => (typeof v === "number" && v >= 0) || (typeof v === "bigint" && v >= 0n);
const isText = v => typeof v === "string" && v !== "";

function decodeClaims(payload) {  // passes.format.decode_claims
  const m = cborDecode(payload, MAX_PASS);
  if (!(m instanceof Map) || [...m.keys()].some(k => !Number.isInteger(k) || k < 1 || k > 9)
      || [1, 2, 3, 4, 5, 6, 7].some(k => !m.has(k))) throw new Malformed("payload keys");
  const c = { passId: m.get(1), serial: m.get(2), plate: m.get(3), scope: m.get(4), category: m.get(5),
              validFrom: m.get(6), validUntil: m.get(7), route: m.get(8), hkPlate: m.get(9) };
  const ok = isText(c.passId) && isText(c.plate) && [c.serial, c.validFrom, c.validUntil].every(isUint)
    && c.validUntil > c.validFrom && Array.isArray(c.scope) && c.scope.length > 0 && c.scope.every(isUint)
    && isUint(c.category) && c.category <= 8 && (!m.has(9) || isText(c.hkPlate))
    && (!m.has(8) || (Array.isArray(c.route) && c.route.length === 2 && c.route.every(isUint)));
  if (!ok) throw new Malformed("claims");
  // One byte form per pass, as in Python: the canonical re-encoding must give the payload back.
  const canonical = new Map([[1, c.passId], [2, c.serial], [3, c.plate], [4, c.scope], [5, c.category],
                             [6, c.validFrom], [7, c.validUntil]]);
  if (m.has(8)) canonical.set(8, c.route);
  if (m.has(9)) canonical.set(9, c.hkPlate);
  if (!sameBytes(cborEncode(canonical), payload)) throw new Malformed("payload is not canonical CBOR");
  return c;
}

// ---- the three synced documents ----------------------------------------------------------------------
export function loadTrustList(doc) {  // passes.verifier.load_trust_list (like it, kids are not recomputed)
  const keys = new Map();
  for (const e of doc.keys) {
    if (e.kty !== "OKP" || e.crv !== "Ed25519") continue;
    const x = b64urlDecode(e.x);
    if (x.length !== 32 || typeof e.status !== "string") throw new Error("bad trust list entry");
    keys.set(hex(b64urlDecode(e.kid)), { x, status: e.status, cryptoKey: null });
  }
  return keys;
}

async function inflate(data, limit) {  // zlib (RFC 1950) = the "deflate" format of Compression Streams
  const reader = new Blob([data]).stream().pipeThrough(new DecompressionStream("deflate")).getReader();
  const parts = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > limit) { reader.cancel(); throw new Error("bit string too large"); }
    parts.push(value);
  }
  const out = new Uint8Array(size);
  parts.reduce((at, p) => (out.set(p, at), at + p.length), 0);
  return out;
}

export async function loadStatusList(cose, keys) {  // passes.statuslist.decode_status_payload
  const m = cborDecode(await verifyDocument(cose, keys), MAX_DOC);
  // 5: the entry count. A list without it (older servers) is refused: its zero padding would read as valid.
  // 6: the expiry. A list without it is refused: it would be good forever.
  if (!(m instanceof Map) || m.size !== 6 || ![1, 2, 3, 4, 5, 6].every(k => m.has(k)) || !isUint(m.get(1))
      || !isUint(m.get(2)) || m.get(3) !== 2 || !(m.get(4) instanceof Uint8Array)
      || typeof m.get(5) !== "number" || m.get(5) < 0 || !isUint(m.get(6)) || !(m.get(6) > m.get(2))) {
    throw new Error("bad status list");
  }
  const bits = await inflate(m.get(4), MAX_BITS), count = m.get(5);
  const mask = count % 4 ? 0xff >> (2 * (count % 4)) : 0;  // the unused slots after the last entry
  if (bits.length !== Math.ceil(count / 4) || (mask && (bits[bits.length - 1] & mask) !== mask)) {
    throw new Error("bad status list count or padding");
  }
  return { version: m.get(1), issuedAt: m.get(2), expiresAt: m.get(6), count,
    // 0 valid, 1 suspended, 2 revoked, 3 reserved; null: at or past the count, status unknown.
    status: serial => (typeof serial !== "number" || serial < 0 || serial >= count) ? null
      : (bits[Math.floor(serial / 4)] >> (6 - 2 * (serial % 4))) & 3 };
}

export async function loadPolicy(cose, keys) {  // passes.policy.decode_bundle
  const m = cborDecode(await verifyDocument(cose, keys), MAX_DOC);
  if (!(m instanceof Map) || m.size !== 8 || ![1, 2, 3, 4, 5, 6, 7, 8].every(k => m.has(k))
      || typeof m.get(6) !== "boolean" || !isUint(m.get(1)) || !isUint(m.get(2)) || !isUint(m.get(8))
      || !(m.get(8) > m.get(2))) {
    throw new Error("bad policy bundle");
  }
  const uintMap = v => {
    if (!(v instanceof Map) || [...v].some(([k, x]) => !isUint(k) || !isUint(x))) throw new Error("bad policy map");
    return v;
  };
  const level = v => { if (v > 3) throw new Error("bad risk level"); return Number(v); };
  // 7: [[crossing site, yard site, [checkpoint sites]]]: where a route-bound pass may be scanned.
  const routes = new Map();
  for (const r of Array.isArray(m.get(7)) ? m.get(7) : [null]) {
    if (!Array.isArray(r) || r.length !== 3 || !Array.isArray(r[2]) || ![r[0], r[1], ...r[2]].every(isUint)) {
      throw new Error("bad routes");
    }
    routes.set(`${r[0]},${r[1]}`, r[2].map(Number));
  }
  const parents = new Map([...uintMap(m.get(5))].map(([c, p]) => [String(c), p ? String(p) : null]));
  const risk = new Map([...uintMap(m.get(4))].map(([c, v]) => [String(c), level(v)]));
  // 3: level -> the oldest acceptable negative test in seconds, read in whole hours as Python does.
  const maxTestAge = new Map([...uintMap(m.get(3))].map(([k, v]) => [level(k), Math.floor(Number(v) / 3600) * 3600]));
  return { version: m.get(1), issuedAt: m.get(2), expiresAt: m.get(8), parents, risk, routes, maxTestAge,
           testsRequired: m.get(6) };
}

// passes.testages.decode_test_ages_payload: per serial a big-endian uint16, the age in minutes (rounded up)
// of the freshest negative test when the list was issued; 0xFFFF: the status list speaks for that pass.
export async function loadTestAges(cose, keys) {
  const m = cborDecode(await verifyDocument(cose, keys), MAX_DOC);
  if (!(m instanceof Map) || m.size !== 5 || ![1, 2, 3, 4, 5].every(k => m.has(k)) || ![1, 2, 3].every(k => isUint(m.get(k)))
      || !(m.get(3) > m.get(2)) || !(m.get(4) instanceof Uint8Array) || typeof m.get(5) !== "number" || m.get(5) < 0) {
    throw new Error("bad test ages list");
  }
  const ages = await inflate(m.get(4), 2 * MAX_BITS), count = m.get(5), issuedAt = Number(m.get(2));
  if (ages.length !== 2 * count) throw new Error("bad test ages count");
  return { version: m.get(1), issuedAt, expiresAt: m.get(3), count,
    // seconds (an upper bound) at `at`; null: no age kept; undefined: not covered (issued after the list).
    ageAt: (serial, at) => {
      if (typeof serial !== "number" || serial < 0 || serial >= count) return undefined;
      const minutes = ages[2 * serial] << 8 | ages[2 * serial + 1];
      return minutes === 0xffff ? null : Math.max(0, at - issuedAt) + 60 * minutes;
    } };
}

// core.trustlist.verify_trust_list, as on first use: the page fetches it over HTTPS from its own server, so
// the signature proves the copy whole and its expiry real; it is signed by a usable key it lists.
export async function loadSignedTrustList(cose) {
  const msg = decodeSign1(cose, MAX_DOC);
  const m = cborDecode(msg.payload, MAX_DOC);
  if (!(m instanceof Map) || m.size !== 3 || ![1, 2, 3].every(k => m.has(k)) || !isUint(m.get(1))
      || !isUint(m.get(2)) || !(m.get(2) > m.get(1)) || !Array.isArray(m.get(3))) throw new Error("bad trust list");
  const keys = new Map();
  for (const e of m.get(3)) {
    const ok = e instanceof Map && [1, 2, 3, 4].every(k => e.has(k)) && [...e.keys()].every(k => k >= 1 && k <= 5)
      && e.get(1) instanceof Uint8Array && e.get(1).length === 8 && e.get(2) instanceof Uint8Array
      && e.get(2).length === 32 && ["active", "retired", "revoked"].includes(e.get(3)) && isUint(e.get(4))
      && (!e.has(5) || isUint(e.get(5)));
    if (!ok || keys.has(hex(e.get(1)))) throw new Error("bad trust list entry");
    const kid = new Uint8Array(await crypto.subtle.digest("SHA-256", e.get(2))).subarray(0, 8);
    if (!sameBytes(kid, e.get(1))) throw new Error("trust list kid does not match its key");
    keys.set(hex(e.get(1)), { x: e.get(2), status: e.get(3), cryptoKey: null });
  }
  const signer = keys.get(hex(msg.kid));
  if (!signer || signer.status === "revoked") throw new Error("trust list not signed by a usable key it lists");
  if (!(await verifySignature(signer, msg))) throw new Error("bad trust list signature");
  return { keys, trust: { issuedAt: m.get(1), expiresAt: m.get(2) } };
}

// ---- the rules: passes.verifier.check_pass and scope_reasons, core.areas.contains --------------------
function contains(ancestor, descendant, parents) {
  if (!parents.has(ancestor) || !parents.has(descendant)) return false;
  for (let code = descendant, n = 0; code != null && n <= parents.size; code = parents.get(code), n++) {
    if (code === ancestor) return true;
  }
  return false;
}

function chain(code, parents) {
  const out = [];
  for (let c = code; c != null && parents.has(c) && out.length <= parents.size; c = parents.get(c)) out.push(c);
  return out;
}

function scopeReasons(scope, siteArea, policy) {
  const covering = scope.filter(code => contains(code, siteArea, policy.parents));
  if (!covering.length) return ["out_of_scope"];
  const SEALED = 3;
  for (const sealed of chain(siteArea, policy.parents).filter(c => policy.risk.get(c) === SEALED)) {
    if (!covering.some(code => contains(sealed, code, policy.parents))) return ["sealed_zone"];
  }
  return [];
}

const fold = s => Array.from(s, ch => {  // whitelist.identifiers._fold
  const c = ch.codePointAt(0);
  if (c === 0x3000) return " ";
  if (c >= 0xff01 && c <= 0xff5e) return String.fromCharCode(c - 0xfee0).toUpperCase();
  return c >= 0x61 && c <= 0x7a ? ch.toUpperCase() : ch;
}).join("");
const normalisePlate = s => fold(s).replace(PLATE_DOTS, "").replace(PY_SPACES, "");

const ordered = reasons => REASONS.filter(r => reasons.includes(r));

// passes.verifier.stale_reasons: a document is usable while at < expiresAt.
function staleReasons({ trust, statusList, testAges, policy }, at) {
  return [["stale_trust_list", trust], ["stale_status_list", statusList], ["stale_status_list", testAges],
          ["stale_policy", policy]].filter(([, doc]) => doc && at >= doc.expiresAt).map(([reason]) => reason);
}

function levelAt(code, policy) {
  return Math.max(0, ...chain(code, policy.parents).map(c => policy.risk.get(c) ?? 0));
}

// passes.verifier.test_age_reasons: each zone's own maximum test age, offline.
function testAgeReasons({ testAges, policy }, serial, siteArea, at) {
  if (!testAges || !policy.testsRequired) return [];
  const age = testAges.ageAt(serial, at);
  if (age === undefined) return ["suspended"];
  return age !== null && age > policy.maxTestAge.get(levelAt(siteArea, policy)) ? ["test_stale"] : [];
}

// passes.verifier.check_offline (check_pass with the device's documents).
export async function checkPass(qr, data) {
  const verdict = await checkClaims(qr, data);
  const extra = staleReasons(data, data.at);
  if (verdict.claims) extra.push(...testAgeReasons(data, verdict.claims.serial, data.siteArea, data.at));
  return { ...verdict, reasons: ordered([...verdict.reasons, ...extra]) };
}

// passes.verifier.data_warnings: documents 75 % or more through their lifetime, not yet expired.
export function documentAges({ trust, statusList, testAges, policy }, at) {
  return [["trust", trust], ["status", statusList], ["ages", testAges], ["policy", policy]]
    .filter(([, doc]) => doc).map(([name, doc]) => {
      const issuedAt = Number(doc.issuedAt), expiresAt = Number(doc.expiresAt);
      return { name, issuedAt, expiresAt, expired: at >= expiresAt,
               warn: at < expiresAt && at >= issuedAt + WARN_AT * (expiresAt - issuedAt) };
    });
}

async function checkClaims(qr, { keys, statusList, policy, siteArea, siteId, at, plateSeen }) {
  let info, claims;
  try {
    const msg = decodeSign1(fromQrText(qr), MAX_PASS);
    info = keys.get(hex(msg.kid));
    if (!info) return { reasons: ["unknown_key"] };
    if (!(await verifySignature(info, msg))) return { reasons: ["bad_signature"] };
    claims = decodeClaims(msg.payload);  // never before the signature is checked
  } catch (e) {
    if (e instanceof Malformed) return { reasons: ["malformed"] };
    throw e;
  }
  const reasons = [];
  if (info.status === "revoked") reasons.push("key_revoked");
  const status = statusList.status(claims.serial);
  if (status === 2) reasons.push("revoked");
  else if (status !== 0) reasons.push("suspended");  // 1, reserved 3, or unknown (beyond the list)
  if (at < claims.validFrom) reasons.push("not_yet_valid");
  if (at >= claims.validUntil) reasons.push("expired");
  reasons.push(...scopeReasons(claims.scope.map(String), siteArea, policy));
  // A route-bound (cross-border) pass is good only at its crossing, its yard and the route's checkpoints.
  // It is never accepted where the site is not known.
  if (claims.route !== undefined && siteId == null) reasons.push("site_required");
  else if (claims.route !== undefined) {
    const [crossing, yard] = claims.route.map(Number);
    const sites = [crossing, yard, ...(policy.routes.get(`${crossing},${yard}`) || [])];
    if (!sites.includes(siteId)) reasons.push("out_of_scope");
  }
  const plate = plateSeen && normalisePlate(plateSeen);
  if (plateSeen && plate !== claims.plate && plate !== claims.hkPlate) reasons.push("plate_mismatch");
  return { reasons: ordered(reasons), claims };
}
