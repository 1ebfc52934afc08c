// The live model in the browser (digits/training/live.py makes it, model/live.json holds it):
// the canvas -> 28x28 the way digits/preprocess.py does it, the tiny CNN's forward pass, and the
// served calibration's rule, in plain JavaScript (no runtime to download, no WebAssembly).
// Prepended to live_canvas.js (one inline module); tests/test_live_model.py runs it in node.
// It is a preview: the final answer is always the server's.

const SIZE = 28, BOX = 20, INK_LEVEL = 16; // digits/preprocess.py

// Python's round(): halves to even (round(2.5) == 2).
function roundHalfEven(x) {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

function halfToFloat(h) {
  const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

// live.json (parsed) -> { layers } with Float32Array weights. Throws on anything unexpected.
export function loadLiveModel(doc) {
  if (!doc || doc.format !== "digits-live/1" || doc.dtype !== "float16") throw new Error("not a digits-live/1 model");
  const bin = atob(doc.weights);
  const n = bin.length >> 1, w = new Float32Array(n);
  for (let i = 0; i < n; i++) w[i] = halfToFloat(bin.charCodeAt(2 * i) | (bin.charCodeAt(2 * i + 1) << 8));
  const take = (ref) => {
    const size = ref.shape.reduce((a, b) => a * b, 1);
    if (ref.offset + size > n) throw new Error("weights too short");
    return { data: w.subarray(ref.offset, ref.offset + size), shape: ref.shape };
  };
  const layers = doc.layers.map((l) => {
    if (l.type === "conv2d" || l.type === "dense") return { ...l, kernel: take(l.kernel), bias: take(l.bias) };
    if (l.type === "maxpool" || l.type === "flatten") return { ...l };
    throw new Error("unknown layer " + l.type);
  });
  return { layers, teacher: doc.teacher_sha256, classes: doc.classes };
}

function conv2d(x, h, w, c, kernel, bias) {
  const [kh, kw, , out] = kernel.shape, k = kernel.data, ph = kh >> 1, pw = kw >> 1;
  const y = new Float32Array(h * w * out), acc = new Float64Array(out);
  for (let i = 0; i < h; i++) {
    for (let j = 0; j < w; j++) {
      for (let o = 0; o < out; o++) acc[o] = bias.data[o];
      for (let di = 0; di < kh; di++) {
        const yi = i + di - ph;
        if (yi < 0 || yi >= h) continue;
        for (let dj = 0; dj < kw; dj++) {
          const xj = j + dj - pw;
          if (xj < 0 || xj >= w) continue;
          const xo = (yi * w + xj) * c, ko = (di * kw + dj) * c * out;
          for (let ci = 0; ci < c; ci++) {
            const v = x[xo + ci];
            if (v === 0) continue; // ReLU maps and the blank field are mostly zeros
            const kr = ko + ci * out;
            for (let o = 0; o < out; o++) acc[o] += v * k[kr + o];
          }
        }
      }
      y.set(acc, (i * w + j) * out);
    }
  }
  return y;
}

function maxpool(x, h, w, c, s) {
  const oh = Math.floor(h / s), ow = Math.floor(w / s), y = new Float32Array(oh * ow * c).fill(-Infinity);
  for (let i = 0; i < oh * s; i++)
    for (let j = 0; j < ow * s; j++)
      for (let ci = 0; ci < c; ci++) {
        const o = ((Math.floor(i / s) * ow + Math.floor(j / s)) * c) + ci, v = x[(i * w + j) * c + ci];
        if (v > y[o]) y[o] = v;
      }
  return y;
}

function applyActivation(a, kind) {
  if (kind === "relu") { for (let i = 0; i < a.length; i++) if (a[i] < 0) a[i] = 0; }
  else if (kind === "softmax") {
    let m = -Infinity, sum = 0;
    for (const v of a) m = Math.max(m, v);
    for (let i = 0; i < a.length; i++) { a[i] = Math.exp(a[i] - m); sum += a[i]; }
    for (let i = 0; i < a.length; i++) a[i] /= sum;
  } else if (kind !== "linear" && kind !== undefined) throw new Error("unknown activation " + kind);
  return a;
}

// (784) float input in [0, 1], row-major 28x28 -> (11) probabilities.
export function liveForward(model, input) {
  let a = Float32Array.from(input), h = SIZE, w = SIZE, c = 1;
  for (const l of model.layers) {
    if (l.type === "conv2d") { a = conv2d(a, h, w, c, l.kernel, l.bias); c = l.kernel.shape[3]; }
    else if (l.type === "maxpool") { a = maxpool(a, h, w, c, l.size); h = Math.floor(h / l.size); w = Math.floor(w / l.size); }
    else if (l.type === "flatten") { h = 1; w = 1; c = a.length; }
    else if (l.type === "dense") {
      const [nin, nout] = l.kernel.shape, k = l.kernel.data, y = new Float32Array(nout);
      for (let o = 0; o < nout; o++) {
        let s = l.bias.data[o];
        for (let i = 0; i < nin; i++) s += a[i] * k[i * nout + o];
        y[o] = s;
      }
      a = y; c = nout;
    }
    applyActivation(a, l.activation);
  }
  return a;
}

// cv2.resize(INTER_AREA) of a float image, as OpenCV does it: area averaging with fractional
// edges when shrinking both ways; otherwise its "area mode" linear interpolation.
function areaTable(ssize, dsize) { // shrinking: per destination index, [[source index, weight], ...]
  const scale = ssize / dsize, tab = [];
  for (let d = 0; d < dsize; d++) {
    const f1 = d * scale, f2 = f1 + scale, cell = Math.min(scale, ssize - f1);
    const s1 = Math.ceil(f1), s2 = Math.floor(f2), row = [];
    if (s1 - f1 > 1e-3) row.push([s1 - 1, (s1 - f1) / cell]);
    for (let s = s1; s < s2; s++) row.push([s, 1 / cell]);
    if (f2 - s2 > 1e-3 && s2 < ssize) row.push([s2, Math.min(Math.min(f2 - s2, 1), cell) / cell]);
    tab.push(row);
  }
  return tab;
}

function resizeArea(src, sw, sh, dw, dh) {
  const shrink = sw / dw >= 1 && sh / dh >= 1;
  // (Enlarging happens only for a crop under 20 px, a dot: both sides then use the linear table.)
  const fx = shrink ? areaTable(sw, dw) : areaTableLinear(sw, dw), fy = shrink ? areaTable(sh, dh) : areaTableLinear(sh, dh);
  const tmp = new Float64Array(sh * dw), out = new Float32Array(dw * dh);
  for (let y = 0; y < sh; y++)
    for (let x = 0; x < dw; x++) { let s = 0; for (const [i, wt] of fx[x]) s += src[y * sw + i] * wt; tmp[y * dw + x] = s; }
  for (let y = 0; y < dh; y++)
    for (let x = 0; x < dw; x++) { let s = 0; for (const [i, wt] of fy[y]) s += tmp[i * dw + x] * wt; out[y * dw + x] = s; }
  return out;
}

function areaTableLinear(ssize, dsize) { // OpenCV's INTER_AREA when not shrinking both ways
  const scale = ssize / dsize, inv = dsize / ssize, tab = [];
  for (let d = 0; d < dsize; d++) {
    let s = Math.floor(d * scale), f = (d + 1) - (s + 1) * inv;
    f = f <= 0 ? 0 : f - Math.floor(f);
    if (s >= ssize - 1) tab.push([[ssize - 1, 1]]);
    else tab.push(f ? [[s, 1 - f], [s + 1, f]] : [[s, 1]]);
  }
  return tab;
}

// RGBA pixels (white ink on black, like the canvas' getImageData) -> (784) Float32Array, or
// null when there is no ink: digits.preprocess.preprocess_canvas, close enough for a preview.
export function preprocessRGBA(rgba, width, height) {
  const gray = new Float32Array(width * height);
  let x0 = width, x1 = -1, y0 = height, y1 = -1;
  for (let y = 0, p = 0; y < height; y++)
    for (let x = 0; x < width; x++, p++) {
      const o = 4 * p;
      let g = Math.max(rgba[o], rgba[o + 1], rgba[o + 2]);
      if (rgba[o + 3] < 255) g = Math.round(g * rgba[o + 3] / 255);
      gray[p] = g / 255;
      if (g > INK_LEVEL) { if (x < x0) x0 = x; if (x > x1) x1 = x; if (y < y0) y0 = y; if (y > y1) y1 = y; }
    }
  if (x1 < 0) return null;
  const w = x1 - x0 + 1, h = y1 - y0 + 1, crop = new Float32Array(w * h);
  for (let y = 0; y < h; y++) crop.set(gray.subarray((y0 + y) * width + x0, (y0 + y) * width + x0 + w), y * w);
  const scale = BOX / Math.max(h, w);
  const nw = Math.max(1, roundHalfEven(w * scale)), nh = Math.max(1, roundHalfEven(h * scale));
  const small = resizeArea(crop, w, h, nw, nh);
  const top = (SIZE - nh) >> 1, left = (SIZE - nw) >> 1;
  let total = 0, my = 0, mx = 0;
  for (let y = 0; y < nh; y++)
    for (let x = 0; x < nw; x++) {
      const v = small[y * nw + x];
      total += v; my += v * (top + y + 0.5); mx += v * (left + x + 0.5);
    }
  if (!(total > 0)) return null;
  const clip = (v, lo, hi) => Math.min(Math.max(v, lo), hi);
  const dx = clip(roundHalfEven(SIZE / 2 - mx / total), -left, SIZE - nw - left);
  const dy = clip(roundHalfEven(SIZE / 2 - my / total), -top, SIZE - nh - top);
  const field = new Float32Array(SIZE * SIZE);
  let peak = 0;
  for (let y = 0; y < nh; y++)
    for (let x = 0; x < nw; x++) {
      const v = small[y * nw + x];
      field[(top + dy + y) * SIZE + left + dx + x] = v;
      if (v > peak) peak = v;
    }
  if (!(peak > 0)) return null;
  for (let i = 0; i < field.length; i++) field[i] = Math.min(Math.max(field[i] / peak, 0), 1);
  return field;
}

// The served calibration and the answer rule (digits/answer.py: apply_temperature, verdicts):
// { verdict: "digit" | "not a digit" | "not sure", digit, confidence, probabilities }.
export function liveAnswer(raw, cal) {
  const t = cal && cal.temperature > 0 ? cal.temperature : 1, bias = (cal && cal.nondigit_bias) || 0;
  const z = Array.from(raw, (p) => Math.log(Math.min(Math.max(p, 1e-12), 1)) / t);
  if (z.length > 10) z[10] += bias;
  const p = applyActivation(Float64Array.from(z), "softmax");
  let top = 0, digit = 0;
  for (let i = 1; i < p.length; i++) if (p[i] > p[top]) top = i;
  for (let i = 1; i < 10; i++) if (p[i] > p[digit]) digit = i;
  const threshold = Math.max((cal && cal.threshold) || 0.5, 0.5);
  const verdict = top === 10 ? "not a digit" : p[top] < threshold ? "not sure" : "digit";
  return { verdict, digit, confidence: p[digit], probabilities: p };
}

// digits.text.percent: one decimal, never "100.0%" below 1 nor "0.0%" above 0.
export function percentText(p) {
  let text = (p * 100).toFixed(1) + "%";
  if (text === "100.0%" && p < 1) text = "99.9%";
  if (text === "0.0%" && p > 0) text = "<0.1%";
  return text;
}
