// The scanner page's state and what it keeps: the token and account (localStorage), the queue of scans
// verified offline, and the API client that sends the token.
const API = "/api/v1";
const FETCH_TIMEOUT_MS = 8000;
// seen: the highest version of each signed document this device accepted (no rollback to an older one).
export const STORE = { token: "gl.scan.token", me: "gl.scan.me", queue: "gl.scan.queue", docs: "gl.scan.docs",
                       areas: "gl.scan.areas", lastSync: "gl.scan.lastSync", seen: "gl.scan.seen" };

export const load = (key, fallback) => {
  try { return JSON.parse(localStorage.getItem(key)) ?? fallback; } catch { return fallback; }
};
export const save = (key, value) => localStorage.setItem(key, JSON.stringify(value));

// Shared by the modules: who is signed in, and the offline documents parsed from storage.
export const state = {
  token: localStorage.getItem(STORE.token),
  me: load(STORE.me, null),
  offlineData: null,  // {keys, trust, statusList, testAges, policy} parsed from the stored documents
};

export const queue = () => load(STORE.queue, []);
export function dequeue(clientScanId) { save(STORE.queue, queue().filter(q => q.scan.client_scan_id !== clientScanId)); }

export async function api(path, { method = "GET", body, etag } = {}) {
  const headers = {};
  if (state.token) headers.Authorization = `Bearer ${state.token}`;
  if (body) headers["Content-Type"] = "application/json";
  if (etag) headers["If-None-Match"] = etag;
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), FETCH_TIMEOUT_MS);
  try {  // no-store: the 304 of our own If-None-Match must reach us, not the HTTP cache's copy
    return await fetch(API + path, { method, headers, body: body && JSON.stringify(body), cache: "no-store",
                                     signal: abort.signal });
  } finally { clearTimeout(timer); }
}

export async function problem(response) {
  const p = await response.json().catch(() => ({}));
  return p.detail || p.title || `HTTP ${response.status}`;
}
