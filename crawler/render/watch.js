// serpwatch: watch what a page does (installed before any page script, in every frame).
// Records locker and cloaking behaviour, cuts dialog and history floods, refuses
// popups, and counts pending short timers and requests so the renderer knows
// when a delayed script has had its say. __KEY__, __SETTLE_MS__, __MAX_DIALOGS__
// and __MAX_HISTORY__ are filled in by crawler/render/page.py.
(() => {
  const KEY = "__KEY__";
  if (Object.prototype.hasOwnProperty.call(window, KEY)) return;
  const SETTLE_MS = __SETTLE_MS__;
  const MAX_DIALOGS = __MAX_DIALOGS__;
  const MAX_HISTORY = __MAX_HISTORY__;
  const rec = {
    fullscreen: 0, keyboard_lock: 0, pointer_lock: 0, beforeunload: 0, dialogs: 0,
    dialogs_cut: 0, history: 0, history_cut: 0, autoplay: 0, audio_context: 0,
    webdriver: 0, popups: 0, notifications: 0,
  };
  const pending = new Set();
  let inflight = 0;
  Object.defineProperty(window, KEY, {
    value: {
      rec,
      busy: () => pending.size + inflight,
      snapshot: () => {
        const out = Object.assign({}, rec);
        try {
          out.autoplay += document.querySelectorAll("audio[autoplay], video[autoplay]").length;
          if (typeof window.onbeforeunload === "function") out.beforeunload += 1;
          if (document.body && document.body.hasAttribute("onbeforeunload")) out.beforeunload += 1;
        } catch (e) {}
        return out;
      },
    },
    enumerable: false,
  });
  const natives = new Map();
  const nativeToString = Function.prototype.toString;
  // Wrapped functions still print as native code: pages that check get the truth's look.
  Function.prototype.toString = new Proxy(nativeToString, {
    apply(target, self, args) {
      return Reflect.apply(target, natives.get(self) || self, args);
    },
  });
  const wrap = (obj, name, make) => {
    try {
      const orig = obj && obj[name];
      if (typeof orig !== "function") return;
      const wrapped = make(orig);
      natives.set(wrapped, orig);
      Object.defineProperty(obj, name, { value: wrapped, writable: true, configurable: true });
    } catch (e) {}
  };
  const counting = (field) => (orig) =>
    function (...args) {
      rec[field] += 1;
      return orig.apply(this, args);
    };
  for (const n of [
    "requestFullscreen", "webkitRequestFullscreen", "webkitRequestFullScreen",
    "mozRequestFullScreen", "msRequestFullscreen",
  ]) wrap(Element.prototype, n, counting("fullscreen"));
  wrap(Element.prototype, "requestPointerLock", counting("pointer_lock"));
  try {
    if (window.Keyboard) wrap(Keyboard.prototype, "lock", counting("keyboard_lock"));
  } catch (e) {}
  wrap(EventTarget.prototype, "addEventListener", (orig) =>
    function (type, ...rest) {
      if (type === "beforeunload" && this === window) rec.beforeunload += 1;
      return orig.call(this, type, ...rest);
    });
  for (const n of ["alert", "confirm", "prompt"]) {
    wrap(window, n, (orig) =>
      function (...args) {
        rec.dialogs += 1;
        if (rec.dialogs > MAX_DIALOGS) {
          rec.dialogs_cut += 1;
          throw new Error("dialog loop cut by the crawler");
        }
        return orig.apply(this, args);
      });
  }
  for (const n of ["pushState", "replaceState"]) {
    wrap(History.prototype, n, (orig) =>
      function (...args) {
        rec.history += 1;
        if (rec.history > MAX_HISTORY) {
          rec.history_cut += 1;
          throw new Error("history flood cut by the crawler");
        }
        return orig.apply(this, args);
      });
  }
  wrap(HTMLMediaElement.prototype, "play", counting("autoplay"));
  for (const name of ["AudioContext", "webkitAudioContext"]) {
    try {
      const Orig = window[name];
      if (typeof Orig !== "function") continue;
      const Wrapped = new Proxy(Orig, {
        construct(target, args, newTarget) {
          rec.audio_context += 1;
          return Reflect.construct(target, args, newTarget);
        },
      });
      natives.set(Wrapped, Orig);
      Object.defineProperty(window, name, { value: Wrapped, writable: true, configurable: true });
    } catch (e) {}
  }
  wrap(window, "open", (orig) =>
    function () {
      rec.popups += 1;
      return null; // no new windows: they would escape the render's budget
    });
  try {
    if (window.Notification) wrap(Notification, "requestPermission", counting("notifications"));
  } catch (e) {}
  try {
    const desc = Object.getOwnPropertyDescriptor(Navigator.prototype, "webdriver");
    if (desc && desc.get) {
      const get = function () {
        rec.webdriver += 1;
        return false; // a victim's browser: show us what they see
      };
      natives.set(get, desc.get);
      Object.defineProperty(Navigator.prototype, "webdriver", {
        get, configurable: true, enumerable: desc.enumerable,
      });
    }
  } catch (e) {}
  // Short timers and requests in flight: the renderer waits for them (up to SETTLE_MS).
  const setT = window.setTimeout;
  const clearT = window.clearTimeout;
  wrap(window, "setTimeout", () =>
    function (fn, ms, ...rest) {
      const delay = Number(ms) || 0;
      let id;
      const run = function () {
        pending.delete(id);
        return typeof fn === "function" ? fn.apply(this, rest) : (0, eval)(String(fn));
      };
      id = setT.call(window, run, delay);
      if (delay <= SETTLE_MS) pending.add(id);
      return id;
    });
  wrap(window, "clearTimeout", () =>
    function (id) {
      pending.delete(id);
      return clearT.call(window, id);
    });
  wrap(window, "fetch", (orig) =>
    function (...args) {
      inflight += 1;
      const done = () => { inflight -= 1; };
      try {
        const p = orig.apply(this, args);
        p.then(done, done);
        return p;
      } catch (e) {
        done();
        throw e;
      }
    });
  wrap(XMLHttpRequest.prototype, "send", (orig) =>
    function (...args) {
      inflight += 1;
      this.addEventListener("loadend", () => { inflight -= 1; }, { once: true });
      return orig.apply(this, args);
    });
})();
