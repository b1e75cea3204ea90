// Loaded by the page shown after a web sign-out: this device's scanner and yard-station token goes too (the
// same storage key, store.js). Queued scans and steps stay; they upload at that account's next sign-in.
import { STORE } from "../scan/store.js";

localStorage.removeItem(STORE.token);
localStorage.removeItem(STORE.me);
