// The scanner page's words in the page's language. The server renders them from its catalog
// (web/scan.py, scanner_texts) into the page's non-executed JSON block #i18n: no dictionary is kept here.
const TEXTS = JSON.parse(document.getElementById("i18n")?.textContent || "{}");

export const lang = TEXTS.lang === "en" ? "en" : "zh";

// t("signin_failed", {reason}) → the text with each %(name)s filled in (as text: callers use textContent).
export function t(key, values = {}) {
  const text = typeof TEXTS[key] === "string" ? TEXTS[key] : key;
  return text.replace(/%\((\w+)\)s/g, (whole, name) => (name in values ? String(values[name]) : whole));
}

// What an officer reads for a reason code of passes/verifier.REASONS; an unknown code is shown as it is.
export const reasonText = code => TEXTS.reasons?.[code] ?? code;

// An area's name in the page's language, from the API's name_zh/name_en.
export const areaName = (zh, en) => (lang === "en" ? en || zh : zh || en);
