// The live-reading companion of streamlit-drawable-canvas 0.13.0 (webapp/live_canvas.py).
//
// It does not draw: it finds the canvas component of the same page (an open shadow root
// inside the element container `.st-key-<canvas key>`), listens to the pen on Fabric's
// `canvas.upper-canvas`, and sends Python small PNG snapshots of what is on the canvas:
//   - while the pen moves (when data.live): at most one every INTERVAL_MS, and only one in
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
  if (!s.down || !s.dirty || !s.data.live || s.frame) return;
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

function penDown(s, e) {
  if (e.button > 0) return;
  activate(s);
  s.down = true;
  s.lastSend = now() - INTERVAL_MS + FIRST_MS;
  s.dirty = true;
  maybeSendLive(s);
}

function penUp(s) {
  if (!s.down) return;
  s.down = false;
  if (s.timer) { clearTimeout(s.timer); s.timer = 0; }
  if (s.frame) { cancelAnimationFrame(s.frame); s.frame = 0; }
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
  const move = () => { if (s.down) { s.dirty = true; maybeSendLive(s); } };
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
  }
  // Python has processed this value: the next live snapshot may go.
  if (s.inFlight && data.ack && data.ack.sid === s.sid && data.ack.seq >= s.inFlight) {
    s.inFlight = 0;
    maybeSendLive(s);
  }
  return () => {
    clearTimeout(s.timer); cancelAnimationFrame(s.frame);
    detach(s);
    delete parentElement.__digitsLive;
  };
}
