/*
 * OneWindow (一窗通) front-end layer — the one i18n mechanism: Chinese (zh-CN) first, English as a switch.
 *
 * Each page has a catalogue module, {zh: {key: text}, en: {key: text}}, where a text is a string with {name}
 * placeholders or a function of the same variables (for plurals and word order). The page's HTML carries the
 * Chinese text (what shows before the script runs) and the key:
 *
 *   <h1 data-i18n="login_title">窗口登录</h1>  <input data-i18n-placeholder="pause_other">  (also -title, -aria-label)
 *
 *   const i18n = createI18n(catalogue, {lang: "zh", storageKey: "ow.lang"});   // storageKey: remember the choice
 *   i18n.t("waiting_n", {n: 3})     // "等候 3 人"; a key missing in English falls back to Chinese, then to the key
 *   i18n.pick(name, name_en)        // the configured name in the current language (the hall's own names)
 *   i18n.set("en") / i18n.toggle()  // re-applies the page: <html lang>, every [data-i18n…], then onChange listeners
 *   i18n.onChange((lang) => render())
 *   i18n.switchButton(button)       // a button that toggles, labelled in the other language ("English" / "中文")
 */

export const LANGS = ["zh", "en"];
const HTML_LANG = { zh: "zh-CN", en: "en" };
const OTHER_LABEL = { zh: "English", en: "中文" };
const ATTRIBUTES = { i18nPlaceholder: "placeholder", i18nTitle: "title", i18nAriaLabel: "aria-label" };

/** "{n} 人" filled with {n: 3}; unknown names stay empty. */
export function fill(template, vars = {}) {
  return String(template).replace(/\{(\w+)\}/g, (_, k) => (vars[k] == null ? "" : String(vars[k])));
}

/** `lang` if it is one we speak, else Chinese. */
export function pickLang(lang) {
  return LANGS.includes(lang) ? lang : "zh";
}

function stored(key) {
  try { return key ? localStorage.getItem(key) : null; } catch (e) { return null; }
}

export function createI18n(catalogue, { lang = null, storageKey = null } = {}) {
  const listeners = [];
  const i18n = {
    lang: pickLang(lang || stored(storageKey) || "zh"),

    get en() { return this.lang === "en"; },

    t(key, vars) {
      const own = catalogue[this.lang] || {};
      const value = key in own ? own[key] : (catalogue.zh || {})[key];
      if (value === undefined) return key;
      return typeof value === "function" ? value(vars || {}) : fill(value, vars);
    },

    has(key) { return key in (catalogue.zh || {}); },

    pick(zh, en) { return this.lang === "en" && en ? en : zh; },

    /** Fill every [data-i18n…] under `root` in the current language. */
    apply(root = document) {
      if (root === document) document.documentElement.lang = HTML_LANG[this.lang];
      for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = this.t(el.dataset.i18n);
      for (const [data, attr] of Object.entries(ATTRIBUTES)) {
        const selector = "[data-" + data.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase()) + "]";
        for (const el of root.querySelectorAll(selector)) el.setAttribute(attr, this.t(el.dataset[data]));
      }
    },

    set(next) {
      this.lang = pickLang(next);
      if (storageKey) { try { localStorage.setItem(storageKey, this.lang); } catch (e) { /* private mode */ } }
      this.apply();
      for (const fn of listeners) fn(this.lang);
    },

    toggle() { this.set(this.lang === "en" ? "zh" : "en"); },

    onChange(fn) { listeners.push(fn); },

    switchButton(button) {
      const label = () => {
        button.textContent = OTHER_LABEL[this.lang];
        button.lang = this.lang === "en" ? "zh-CN" : "en";
      };
      label();
      listeners.push(label);
      button.addEventListener("click", () => this.toggle());
    },
  };
  return i18n;
}
