// The scanner page's sign-in: an officer account bound to a site signs in once with its API token, which
// is kept in localStorage (the yard board page reads it too); signing out keeps the queued scans.
import { STORE, api, problem, save, state } from "./store.js";
import { syncDocs, uploadQueue } from "./queue.js";
import { t } from "./i18n.js";
import { $, render } from "./view.js";

async function signIn(ev) {
  ev.preventDefault();
  $("signin-error").textContent = "";
  state.token = $("token").value.trim();
  try {
    const r = await api("/me");
    if (!r.ok) throw new Error(await problem(r));
    const who = await r.json();
    if (who.role !== "officer" || !who.site) {
      throw new Error(t("officer_needed"));
    }
    state.me = who;
    localStorage.setItem(STORE.token, state.token);
    save(STORE.me, state.me);
    $("token").value = "";
    render();
    await syncDocs();
    uploadQueue();
    $("qr").focus();
  } catch (e) {
    state.token = localStorage.getItem(STORE.token);
    $("signin-error").textContent = t("signin_failed", { reason: e.message });
  }
}

export function signOut() {  // queued scans (and the yard station's steps) stay: they upload at this account's next sign-in
  state.token = state.me = null;
  localStorage.removeItem(STORE.token);
  localStorage.removeItem(STORE.me);
  render();
}

export function wireSignIn() {
  $("signin-form").addEventListener("submit", signIn);
  $("sign-out").addEventListener("click", signOut);
}
