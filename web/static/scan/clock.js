// Times on the scanner's pages: Beijing time (UTC+8), 24-hour, whatever the device's own time zone, and how
// long ago something happened ("3 h ago") in the page's language.
import { t } from "./i18n.js";

const ZONE = "Asia/Shanghai";
const OFFSET_MS = 8 * 3600000;  // China keeps no daylight saving time: the fallback is exact

// The Beijing calendar fields of a time, through the browser's time-zone data; without it (an engine built
// without ICU zones throws a RangeError) through the fixed +8 hours.
let zoned;
try {
  zoned = new Intl.DateTimeFormat("en-GB", { timeZone: ZONE, hourCycle: "h23", year: "numeric", month: "2-digit",
                                             day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" });
} catch { zoned = null; }

function fields(ms) {
  if (zoned) {
    const f = Object.fromEntries(zoned.formatToParts(new Date(ms)).map(p => [p.type, p.value]));
    return { date: `${f.year}-${f.month}-${f.day}`, hm: `${f.hour}:${f.minute}`, s: f.second };
  }
  const iso = new Date(ms + OFFSET_MS).toISOString();  // the +8 wall clock, read as if it were UTC
  return { date: iso.slice(0, 10), hm: iso.slice(11, 16), s: iso.slice(17, 19) };
}

// "2026-12-03 14:05": a date and time to read, e.g. a pass's end of validity.
export const beijingDateTime = ms => { const f = fields(ms); return `${f.date} ${f.hm}`; };

// "14:05" today (Beijing's today), "2026-12-02 14:05" on another day; seconds on request ("14:05:09").
export function beijingTime(ms, { seconds = false, now = Date.now() } = {}) {
  const f = fields(ms), time = seconds ? `${f.hm}:${f.s}` : f.hm;
  return f.date === fields(now).date ? time : `${f.date} ${time}`;
}

// "just now", "5 min ago", "3 h ago", "2 d ago" (the catalog's words); a time ahead of the device's
// clock (the clock was set back) reads as "just now" rather than as a negative age.
export function ageText(ms, now = Date.now()) {
  const minutes = Math.floor(Math.max(0, now - ms) / 60000);
  if (minutes < 1) return t("age_now");
  if (minutes < 60) return t("age_minutes", { n: minutes });
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return t("age_hours", { n: hours });
  return t("age_days", { n: Math.floor(hours / 24) });
}
