// Installed in every page before Streamlit's own code (bench/browser.py, add_init_script).
// Logs, with performance.now(): pen-ups (and clicks), the rerun requests Streamlit sends over
// its websocket, the start and end of each script run it receives, and the answer's text.
// window.__digits.settled() then says when the answer to the last pen-up is final.
// Config: window.__digitsConfig = {prediction: <css selector of the answer>}.
(() => {
  const cfg = window.__digitsConfig;
  const d = window.__digits = {ups: [], reruns: [], starts: [], ends: [], texts: [], flushed: -1};
  const now = () => performance.now();

  // Top-level fields of a protobuf message: [[field number, varint value or null], ...].
  // Field numbers are stable by protobuf's rules: BackMsg.rerun_script = 11,
  // ForwardMsg.new_session = 4 (sent at the start of every run), ForwardMsg.script_finished = 6.
  const fields = (data) => {
    const b = data instanceof ArrayBuffer ? new Uint8Array(data)
      : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const out = [];
    let i = 0;
    const varint = () => {
      let v = 0, s = 1, c;
      do { c = b[i++]; v += (c & 0x7f) * s; s *= 128; } while (c & 0x80 && i < b.length);
      return v;
    };
    while (i < b.length) {
      const tag = varint(), field = Math.floor(tag / 8), wire = tag & 7;
      if (wire === 0) out.push([field, varint()]);
      else if (wire === 2) { const n = varint(); out.push([field, null]); i += n; }
      else if (wire === 1) { out.push([field, null]); i += 8; }
      else if (wire === 5) { out.push([field, null]); i += 4; }
      else break;
    }
    return out;
  };
  const has = (fs, n) => fs.find(([f]) => f === n);

  const received = (ev) => {
    if (!(ev.data instanceof ArrayBuffer)) return;
    const t = now(), fs = fields(ev.data);
    if (has(fs, 4)) d.starts.push(t);
    const fin = has(fs, 6);
    if (fin) {
      d.ends.push([t, fin[1]]);
      // two frames later React has committed what this message changed
      requestAnimationFrame(() => requestAnimationFrame(() => { d.flushed = t; }));
    }
  };
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (data) {
    if (!this.__digitsProbe) { this.__digitsProbe = true; this.addEventListener('message', received); }
    if (typeof data !== 'string' && has(fields(data), 11)) d.reruns.push(now());
    return send.call(this, data);
  };
  addEventListener('pointerup', () => d.ups.push(now()), true);

  let text;
  const check = () => {
    const el = document.querySelector(cfg.prediction);
    const t = el ? el.textContent.trim() : null;
    if (t !== text) { text = t; d.texts.push([now(), t]); }
  };
  new MutationObserver(check).observe(document, {subtree: true, childList: true, characterData: true});

  const textAt = (t) => { let v = null; for (const [ts, x] of d.texts) { if (ts > t) break; v = x; } return v; };
  const EARLY_FOR_RERUN = 2;  // ForwardMsg.ScriptFinishedStatus: an interrupted run

  // The answer to the last pen-up once it is final, else null. marker: whether an answer is
  // expected (a drawing) or not (a cleared canvas). Final: the canvas has asked for a rerun
  // after the pen-up, the run for its last request has ended and been rendered, and the answer
  // is there (or gone) as expected: the first answer's element is lazy-loaded and appears
  // ~150 ms after its run ends. Shown = when the answer changed to that state in that run,
  // else the run's end.
  d.settled = (marker) => {
    const exc = document.querySelector('[data-testid="stException"]');
    if (exc) return {error: exc.innerText};
    const up = d.ups.at(-1);
    if (up === undefined) return null;
    const rerun = d.reruns.find((t) => t > up);
    if (rerun === undefined) return null;
    const start = d.starts.find((t) => t > d.reruns.at(-1));
    if (start === undefined) return null;
    const end = d.ends.find(([t, status]) => t > start && status !== EARLY_FOR_RERUN);
    if (!end || d.flushed < end[0] || (text !== null) !== marker) return null;
    const before = textAt(start);
    const change = d.texts.find(([t, x]) => t > start && x !== before && (x !== null) === marker);
    const shown = change ? change[0] : end[0];
    return {value: text, latencyMs: shown - up, sentMs: rerun - up, startedMs: start - up,
            shownEpochMs: performance.timeOrigin + shown};
  };
  // keep the logs short over long runs (call once an answer has settled)
  d.trim = () => { for (const k of ['ups', 'reruns', 'starts', 'ends', 'texts']) d[k] = d[k].slice(-2); };
})();
