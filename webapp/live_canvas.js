// The live-reading companion of streamlit-drawable-canvas 0.13.0 (webapp/live_canvas.py).
// live_model.js comes before it in the same module (loadLiveModel, preprocessRGBA, liveForward,
// liveAnswer, percentText).
//
// It does not draw: it finds the canvas component of the same page (an open shadow root
// inside the element container `.st-key-<canvas key>`), listens to the pen on Fabric's
// `canvas.upper-canvas`, and:
//   - while the pen moves (when data.live), reads the drawing itself with the live model
//     (data.live_model, handed over once per page and kept on window; used only while its
//     teacher's sha256 is data.live_sha, the served graph's) at most every BROWSER_MS, and shows
//     the guess in the page's answer box (`.st-key-<data.answer_key>`), in place of what is there,
//     until the final answer arrives. Python gets nothing while the pen moves.
//     If it cannot (no model, another graph, no answer box, a JavaScript error), the server's
//     live route: small PNG snapshots, at most one every INTERVAL_MS, and only one in
//     flight: the next waits until Python echoes back (data.ack) the sequence number it has
//     processed, so a slow run is never interrupted by the next value (no starving);
//   - at pen-up, at once (no debounce): the final one, marked final, together with a click on
//     the canvas' own hidden "Update the app with this drawing" button, so the canvas' strokes
//     (json_data) arrive in the same rerun instead of 200 ms later.
// It also hides the canvas' hover toolbar (its invisible hit area swallowed strokes that began
// in the canvas' top edge) and offers visible Undo / Redo / Clear buttons that click the
// toolbar's own buttons, so the undo history stays the canvas'. Keys: Escape or Delete clear,
// Ctrl/Cmd+Z undoes, Ctrl/Cmd+Shift+Z or Ctrl+Y redoes.
//
// State lives on parentElement: Streamlit calls this function again (without the cleanup)
// each time `data` changes.

const FIRST_MS = 50; // pen-down -> first live snapshot (some ink to read)
const INTERVAL_MS = 200; // at most one live snapshot per interval (server CPU: docs/performance.md)
const ACK_TIMEOUT_MS = 2000; // a value whose run never finished: stop waiting for its echo
const FIND_TIMEOUT_MS = 10000; // the canvas must be found by then, else status "missing"
const WATCH_MS = 250; // how often an attached companion checks that its canvas is still the one shown
const BROWSER_MS = 30; // the browser's live guess: at most one per 30 ms (each takes a few ms)
const LIVE_CSS = '[data-digits-live="1"] > :not(.lc-live-answer) { display: none !important; }';

const SEL = {
  host: '[data-testid="stBidiComponentIsolated"]',
  root: ".dc-root",
  lower: "canvas.dc-canvas.lower-canvas",
  upper: "canvas.upper-canvas",
  background: "canvas.dc-background-canvas",
  toolbar: ".dc-toolbar",
  // the toolbar's own buttons, by their aria-labels (or the copy we keep once we took them)
  undo: 'button[aria-label="Undo"], button[data-digits-label="Undo"]',
  redo: 'button[aria-label="Redo"], button[data-digits-label="Redo"]',
  reset: 'button[aria-label="Reset canvas & history"], button[data-digits-label="Reset canvas & history"]',
  send: 'button[aria-label="Update the app with this drawing"], button[data-digits-label="Update the app with this drawing"]',
};
// The toolbar hidden; the canvas never wider than its column (a phone): scaled by CSS to the
// column's width, its bitmap keeps its size (Fabric maps the pointer through the scale).
const CANVAS_CSS = ".dc-toolbar{display:none !important}" +
  ".dc-root,.dc-scroll{max-width:100%}" +
  ".dc-container,.canvas-container{max-width:100% !important;height:auto !important;aspect-ratio:var(--dc-aspect,1)}" +
  ".dc-container canvas{width:100% !important;height:100% !important}";

const now = () => performance.now();

function findCanvas(canvasKey) {
  const box = document.querySelector(".st-key-" + CSS.escape(canvasKey));
  if (!box) return null;
  for (const host of box.querySelectorAll(SEL.host)) {
    const root = host.shadowRoot;
    if (!root || !root.querySelector(SEL.root)) continue;
    const found = { root };
    for (const k of ["lower", "upper", "toolbar", "undo", "redo", "reset", "send"]) {
      found[k] = root.querySelector(SEL[k]);
      if (!found[k]) return { missing: k };
    }
    found.background = root.querySelector(SEL.background);
    return found;
  }
  return null;
}

// What the canvas shows (background, finished strokes, the stroke in progress) as a PNG data URL:
// the exact picture for the final value; at half the size (each side rounded up, LIVE_SCALE in
// live_canvas.py) for a live value, which is only read for the guess: a quarter of the pixels to
// encode here and to decode and preprocess on the server, and about half the bytes on the wire.
function snapshot(s, final) {
  const c = s.canvas, w = c.lower.width, h = c.lower.height;
  const ow = final ? w : Math.ceil(w / 2), oh = final ? h : Math.ceil(h / 2);
  const key = final ? "scratch" : "scratchLive";
  if (!s[key]) s[key] = document.createElement("canvas");
  const out = s[key];
  if (out.width !== ow || out.height !== oh) { out.width = ow; out.height = oh; }
  const ctx = out.getContext("2d");
  ctx.globalCompositeOperation = "source-over";
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = "medium";
  ctx.fillStyle = "#000";
  ctx.fillRect(0, 0, ow, oh);
  for (const layer of [c.background, c.lower, c.upper]) {
    if (!layer) continue;
    if (final) ctx.drawImage(layer, 0, 0); // pixel for pixel: the canvas' own picture
    else ctx.drawImage(layer, 0, 0, ow, oh);
  }
  return { png: out.toDataURL("image/png"), w: ow, h: oh };
}

function send(s, final) {
  if (!s.canvas || !s.canvas.lower.isConnected) return;
  const shot = snapshot(s, final);
  const seq = ++s.seq;
  if (!final) {
    s.inFlight = seq;
    s.inFlightAt = now();
  } else {
    s.finalSeq = seq;
    // The canvas' own value (its strokes) now instead of after its 200 ms debounce, in the
    // same task as ours: both reach Python in one rerun.
    if (s.canvas.send.isConnected) s.canvas.send.click();
  }
  s.lastSend = now();
  s.dirty = false;
  s.sent += 1;
  window.__digitsLiveSent = (window.__digitsLiveSent || 0) + (final ? 0 : 1); // for bench/live.py
  s.setStateValue("value", { v: 1, sid: s.sid, seq, final, png: shot.png, w: shot.w, h: shot.h });
}

function maybeSendLive(s) {
  if (!s.down || !s.dirty || !s.data.live || s.frame || s.data.server_live === false) return;
  const t = now();
  if (s.inFlight && t - s.inFlightAt < ACK_TIMEOUT_MS) return; // the echo calls us again
  const wait = s.lastSend + INTERVAL_MS - t;
  if (wait > 0) {
    if (!s.timer) s.timer = setTimeout(() => { s.timer = 0; maybeSendLive(s); }, wait);
    return;
  }
  // Next frame: Fabric has then drawn the latest move on the upper canvas.
  s.frame = requestAnimationFrame(() => { s.frame = 0; if (s.down) send(s, false); });
}

// ---------------------------------------------------------------- the live guess in the browser

// The live model for data.live_sha, loaded once per page (kept on window: a companion of another
// page, or of the next Challenge round, uses it too), or null.
function browserModel(s) {
  const d = s.data, models = (window.__digitsLiveModels = window.__digitsLiveModels || {});
  if (!d.live || !d.live_sha || s.browserBroken) return null;
  if (d.live_model && !(d.live_model.teacher_sha256 in models)) {
    let ok = false;
    try {
      const m = loadLiveModel(d.live_model);
      m.calibration = d.live_model.calibration;
      models[m.teacher] = m;
      ok = true;
    } catch (err) {
      models[d.live_model.teacher_sha256] = null;
      console.error("digits live canvas: the live model could not be loaded:", err);
    }
    // Python stops sending it (once per page); ok=false too: it would fail again.
    s.setStateValue("model", { sha: d.live_model.teacher_sha256, ok });
  }
  const m = models[d.live_sha];
  if (m === undefined && !d.live_model && !s.asked) { // this page lost it (should not happen): ask once
    s.asked = true;
    s.setStateValue("model", { need: Math.floor(Math.random() * 1e9) });
  }
  return m && m.teacher === d.live_sha ? m : null;
}

function answerBox(s) {
  return document.querySelector(".st-key-" + CSS.escape(s.data.answer_key || ""));
}

// Reads the canvas (background, finished strokes, the stroke in progress) with the live model.
function browserGuess(s) {
  s.guessFrame = 0;
  if (!s.down || !s.canvas || !s.canvas.lower.isConnected) return;
  const model = browserModel(s), box = answerBox(s);
  if (!model || !box) { s.route = "server"; maybeSendLive(s); return; }
  try {
    const t0 = now(), c = s.canvas;
    // Big (kiosk) canvases are read at most 280 px wide: the 28x28 needs no more.
    const k = Math.min(1, 280 / c.lower.width), w = Math.round(c.lower.width * k), h = Math.round(c.lower.height * k);
    if (!s.scratchGuess) s.scratchGuess = document.createElement("canvas");
    const out = s.scratchGuess;
    if (out.width !== w || out.height !== h) { out.width = w; out.height = h; }
    const ctx = out.getContext("2d", { willReadFrequently: true });
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, w, h);
    for (const layer of [c.background, c.lower, c.upper]) if (layer) ctx.drawImage(layer, 0, 0, w, h);
    const x = preprocessRGBA(ctx.getImageData(0, 0, w, h).data, w, h);
    s.lastGuess = now();
    if (!x) return;
    const answer = liveAnswer(liveForward(model, x), model.calibration);
    showGuess(s, box, answer);
    s.guesses += 1;
    window.__digitsBrowserGuesses = (window.__digitsBrowserGuesses || 0) + 1; // for the tests and bench/live.py
    window.__digitsBrowserGuessMs = now() - t0;
  } catch (err) { // never again on this page: the server's route from now on
    s.browserBroken = true;
    s.route = "server";
    console.error("digits live canvas: the browser's live guess failed:", err);
    maybeSendLive(s);
  }
}

// What show_answer_block(live=True) shows, in the answer box, over what is there (hidden by CSS)
// until the final answer arrives.
function showGuess(s, box, a) {
  if (!document.querySelector("style[data-digits-live]")) {
    const style = document.createElement("style");
    style.dataset.digitsLive = "";
    style.textContent = LIVE_CSS;
    document.head.appendChild(style);
  }
  let el = box.querySelector(":scope > .lc-live-answer");
  if (!el) {
    el = document.createElement("div");
    el.className = "lc-live-answer";
    el.innerHTML = "<div style='display:flex;align-items:center;gap:1.25rem;flex-wrap:wrap'>" +
      "<span data-testid='prediction' data-live='1' data-source='browser' style='font-size:6rem;font-weight:700;line-height:1;opacity:0.75'></span>" +
      "<span data-testid='probability' style='font-size:1.75rem;flex:1;opacity:0.75'><span></span>" +
      "<br><span style='font-size:0.9rem'>reading as you draw…</span></span></div>";
    box.prepend(el);
  }
  box.dataset.digitsLive = "1";
  s.guessBox = box;
  const big = el.querySelector("[data-testid='prediction']"), share = el.querySelector("[data-testid='probability'] > span");
  big.dataset.verdict = a.verdict;
  // A live guess names a digit or waits, neutral: a half-drawn stroke is not "wrong" (widgets.LIVE_PENDING).
  big.textContent = a.verdict === "digit" ? String(a.digit) : "…";
  share.textContent = a.verdict === "digit" ? percentText(a.confidence) : "";
}

function hideGuess(s) {
  const box = s.guessBox;
  s.guessBox = null;
  clearTimeout(s.hideTimer);
  if (!box) return;
  delete box.dataset.digitsLive;
  box.querySelector(":scope > .lc-live-answer")?.remove();
}

function maybeGuess(s) {
  if (!s.down || s.guessFrame || s.guessTimer) return;
  const wait = s.lastGuess + BROWSER_MS - now();
  if (wait > 0) { s.guessTimer = setTimeout(() => { s.guessTimer = 0; maybeGuess(s); }, wait); return; }
  // Next frame: Fabric has then drawn the latest move on the upper canvas.
  s.guessFrame = requestAnimationFrame(() => browserGuess(s));
}

function onMove(s) {
  if (!s.down || !s.data.live) return;
  s.dirty = true;
  if (s.route === "browser") maybeGuess(s);
  else maybeSendLive(s);
}

function penDown(s, e) {
  if (e.button > 0) return;
  activate(s);
  s.down = true;
  s.lastSend = now() - INTERVAL_MS + FIRST_MS;
  s.lastGuess = 0;
  clearTimeout(s.hideTimer);
  s.dirty = true;
  // The browser's route when it has the model and the page an answer box; else the server's.
  s.route = s.data.live && browserModel(s) && answerBox(s) ? "browser" : s.data.server_live === false ? "none" : "server";
  s.el.dataset.liveRoute = s.route;
  if (s.route === "browser") maybeGuess(s);
  else if (s.route === "server") maybeSendLive(s);
}

function penUp(s) {
  if (!s.down) return;
  s.down = false;
  if (s.timer) { clearTimeout(s.timer); s.timer = 0; }
  if (s.frame) { cancelAnimationFrame(s.frame); s.frame = 0; }
  if (s.guessTimer) { clearTimeout(s.guessTimer); s.guessTimer = 0; }
  if (s.guessFrame) { cancelAnimationFrame(s.guessFrame); s.guessFrame = 0; }
  // The browser's guess stays until the final answer is on the page (or, if it never comes, a while).
  if (s.guessBox) s.hideTimer = setTimeout(() => hideGuess(s), ACK_TIMEOUT_MS);
  // Called in the capture phase, before Fabric's pen-up handlers. Those add the finished path
  // (the canvas' history saves it in a microtask) and ask for an animation frame to draw it on
  // the lower canvas; a frame requested after them runs after that drawing: the snapshot then
  // has exactly the pixels the canvas itself would send.
  setTimeout(() => requestAnimationFrame(() => send(s, true)), 0);
}

function act(s, what) {
  if (!s.canvas) return;
  const button = s.canvas[what];
  if (button && !button.disabled) button.click(); // the canvas sends its new drawing itself
  if (what === "reset") s.announce.textContent = "Canvas cleared.";
}

// Keyboard shortcuts act on the companion used last (one listener for the whole page).
function activate(s) { window.__digitsLiveActive = s; }

function onKey(e) {
  const s = window.__digitsLiveActive;
  if (!s || !s.canvas || !s.canvas.lower.isConnected) return;
  const target = e.composedPath()[0];
  if (target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) return;
  const mod = e.ctrlKey || e.metaKey;
  let what = null;
  if (!mod && (e.key === "Escape" || e.key === "Delete")) what = "reset";
  else if (mod && (e.key === "z" || e.key === "Z")) what = e.shiftKey ? "redo" : "undo";
  else if (mod && (e.key === "y" || e.key === "Y")) what = "redo";
  if (!what) return;
  e.preventDefault();
  act(s, what);
}

function attach(s) {
  const found = findCanvas(s.data.canvas_key);
  if (!found || found.missing) {
    if (now() - s.born > FIND_TIMEOUT_MS) {
      const why = found ? `canvas ${found.missing} not found` : "canvas not found";
      s.el.dataset.liveStatus = "missing";
      s.el.dataset.liveDetail = why;
      console.error(`digits live canvas: ${why} (selectors made for streamlit-drawable-canvas 0.13.0)`);
      return;
    }
    s.retry = setTimeout(() => attach(s), 50);
    return;
  }
  s.canvas = found;
  // The toolbar is hidden; its buttons (kept by reference) give up their names, so that a
  // name like "Undo" means the visible button only (for people's tools and for tests).
  for (const b of found.toolbar.querySelectorAll("button[aria-label]")) {
    b.dataset.digitsLabel = b.getAttribute("aria-label");
    b.removeAttribute("aria-label");
    b.removeAttribute("title");
  }
  if (!found.root.querySelector("style[data-digits-live]")) {
    const style = document.createElement("style");
    style.dataset.digitsLive = "";
    style.textContent = CANVAS_CSS;
    found.root.appendChild(style);
  }
  found.root.host.style.setProperty("--dc-aspect", `${found.lower.width} / ${found.lower.height}`);
  const up = () => penUp(s);
  const move = () => onMove(s);
  const down = (e) => penDown(s, e);
  found.upper.addEventListener("pointerdown", down);
  addEventListener("pointermove", move, true);
  addEventListener("pointerup", up, true); // capture: before Fabric's own handlers
  addEventListener("pointercancel", up, true);
  s.unbind = () => {
    found.upper.removeEventListener("pointerdown", down);
    removeEventListener("pointermove", move, true);
    removeEventListener("pointerup", up, true);
    removeEventListener("pointercancel", up, true);
  };
  // Our Undo / Redo buttons follow the toolbar's (disabled when there is nothing to undo).
  const sync = () => {
    s.buttons.undo.disabled = found.undo.disabled;
    s.buttons.redo.disabled = found.redo.disabled;
  };
  s.observer = new MutationObserver(sync);
  for (const b of [found.undo, found.redo]) s.observer.observe(b, { attributes: true, attributeFilter: ["disabled"] });
  sync();
  s.el.dataset.liveStatus = "attached";
  if (!window.__digitsLiveActive || !window.__digitsLiveActive.canvas?.lower.isConnected) activate(s);
  // Streamlit may replace the canvas' DOM after we attached (navigating Draw -> Number, the
  // old page's elements stay on screen until the new run ends, and the canvas component may
  // rebuild its layers or toolbar): whenever the canvas in our box is not the one we hold,
  // attach to it, so the one shown always has its toolbar hidden and our buttons drive it.
  s.watch = setInterval(() => {
    const f = findCanvas(s.data.canvas_key);
    const moved = f && !f.missing && (f.lower !== found.lower || f.toolbar !== found.toolbar);
    if (moved || !found.lower.isConnected) reattach(s);
  }, WATCH_MS);
}

function detach(s) {
  clearTimeout(s.retry); clearInterval(s.watch);
  s.unbind?.(); s.observer?.disconnect();
  s.unbind = null; s.observer = null; s.canvas = null; s.watch = 0;
  if (window.__digitsLiveActive === s) window.__digitsLiveActive = null;
}

function reattach(s) {
  detach(s);
  s.el.dataset.liveStatus = "searching";
  s.born = now();
  attach(s);
}

function init(parentElement, data) {
  const el = parentElement.querySelector(".lc");
  const s = {
    el, data, seq: 0, sent: 0, sid: Math.random().toString(36).slice(2, 12), born: now(),
    down: false, dirty: false, inFlight: 0, inFlightAt: 0, lastSend: 0, timer: 0, frame: 0,
    route: "server", guesses: 0, lastGuess: 0, guessFrame: 0, guessTimer: 0, guessBox: null, hideTimer: 0,
    canvas: null, buttons: {}, announce: el.querySelector(".lc-announce"),
  };
  for (const b of el.querySelectorAll("button[data-act]")) {
    s.buttons[b.dataset.act] = b;
    b.addEventListener("click", () => { activate(s); act(s, b.dataset.act); });
  }
  if (!window.__digitsLiveKeys) { window.__digitsLiveKeys = true; addEventListener("keydown", onKey); }
  attach(s);
  return s;
}

export default function (component) {
  const { parentElement, data, setStateValue } = component;
  let s = parentElement.__digitsLive;
  if (!s) { s = init(parentElement, data); parentElement.__digitsLive = s; }
  // Streamlit may hand this element to another page's companion (same place in the tree: Draw
  // -> Number): then its canvas is another one, and the old one is gone. Attach again, or the
  // new canvas keeps its hover toolbar and our buttons would drive a canvas no longer shown.
  const stale = s.data.canvas_key !== data.canvas_key || (s.canvas && !s.canvas.lower.isConnected);
  s.data = data;
  if (stale) reattach(s);
  s.setStateValue = setStateValue;
  s.el.dataset.controls = data.controls;
  s.el.style.width = data.width + "px";
  s.el.dataset.sent = String(s.sent);
  if (data.announce !== s.lastAnnounce) { s.lastAnnounce = data.announce; s.announce.textContent = data.announce || ""; }
  // When the answer to the last pen-up reached the page (the echo comes after it): bench/live.py.
  if (s.finalSeq && data.ack && data.ack.sid === s.sid && data.ack.seq >= s.finalSeq) {
    window.__digitsLiveFinalShown = now();
    s.finalSeq = 0;
    if (!s.down) hideGuess(s); // the final answer replaces the browser's guess
  }
  // Load (and confirm) the model before the first stroke; the status is for the tests.
  s.el.dataset.browserModel = browserModel(s) ? "ready" : "off";
  // Python has processed this value: the next live snapshot may go.
  if (s.inFlight && data.ack && data.ack.sid === s.sid && data.ack.seq >= s.inFlight) {
    s.inFlight = 0;
    maybeSendLive(s);
  }
  return () => {
    clearTimeout(s.timer); cancelAnimationFrame(s.frame);
    clearTimeout(s.guessTimer); cancelAnimationFrame(s.guessFrame); hideGuess(s);
    detach(s);
    delete parentElement.__digitsLive;
  };
}
