// tests/test_live_model.py runs webapp/live_model.js in node: reads a JSON job on stdin
// ({model, inputs: [[784 floats]...]} or {canvases: [{w, h, rgba: base64}]}), prints results.
import { readFileSync } from "node:fs";

const src = readFileSync(new URL("../../webapp/live_model.js", import.meta.url), "utf8");
const m = await import("data:text/javascript;base64," + Buffer.from(src).toString("base64"));
const job = JSON.parse(readFileSync(0, "utf8"));
const out = {};
if (job.model) {
  const model = m.loadLiveModel(job.model);
  out.probabilities = job.inputs.map((x) => Array.from(m.liveForward(model, x)));
  const t = performance.now();
  for (let i = 0; i < 20; i++) m.liveForward(model, job.inputs[i % job.inputs.length]);
  out.forward_ms = (performance.now() - t) / 20;
  if (job.calibration) out.answers = out.probabilities.map((p) => {
    const a = m.liveAnswer(p, job.calibration);
    return { ...a, probabilities: Array.from(a.probabilities), shown: m.percentText(a.confidence) };
  });
}
if (job.canvases) {
  const t = performance.now();
  out.images = job.canvases.map((c) => {
    const x = m.preprocessRGBA(new Uint8Array(Buffer.from(c.rgba, "base64")), c.w, c.h);
    return x && Array.from(x);
  });
  out.preprocess_ms = (performance.now() - t) / Math.max(1, job.canvases.length);
}
process.stdout.write(JSON.stringify(out));
