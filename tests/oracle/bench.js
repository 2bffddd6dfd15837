// tests/oracle/bench.js — the peer in `make bench`: face-api 1.7.15 on tfjs-wasm (one thread), timing the
// same stages as tests/bench/dv_bench.c on the same inputs. usage: node bench.js PHOTO.ppm FACE.ppm RUNS
const fs = require('fs');
const path = require('path');
const faceapi = require('@vladmandic/face-api/dist/face-api.node-wasm.js');
const wasm = require('@tensorflow/tfjs-backend-wasm');
const tf = faceapi.tf;
const common = require('./common.js');
const readPPM = (file) => common.readPPM(tf, file);
const load = (net, dir, name) => common.load(tf, net, dir, name);



async function time(runs, fn) {
  await fn();
  const t = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    await fn();
    t.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  t.sort((a, b) => a - b);
  return [t[Math.floor(runs / 2)], t[Math.min(runs - 1, Math.floor(runs * 0.95))]];
}

(async () => {
  const [photo, face, runsArg] = process.argv.slice(2);
  const runs = +runsArg || 50;
  wasm.setWasmPaths(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')) + '/dist/');
  if (wasm.setThreadsCount) wasm.setThreadsCount(1);
  await tf.setBackend('wasm');
  await tf.ready();
  const dir = common.modelDir();
  const det = load(faceapi.nets.tinyFaceDetector, dir, 'tiny_face_detector_model');
  const lm = load(faceapi.nets.faceLandmark68Net, dir, 'face_landmark_68_model');
  const lmt = load(faceapi.nets.faceLandmark68TinyNet, dir, 'face_landmark_68_tiny_model');
  const rec = load(faceapi.nets.faceRecognitionNet, dir, 'face_recognition_model');
  const P = await faceapi.toNetInput(readPPM(photo));
  const F = await faceapi.toNetInput(readPPM(face));
  const run = (f) => async () => { const t = tf.tidy(f); await t.data(); t.dispose(); };
  const rows = [
    ['detect @320', await time(runs, run(() => det.forwardInput(P, 320)))],
    ['detect @416', await time(runs, run(() => det.forwardInput(P, 416)))],
    ['landmarks (68)', await time(runs, run(() => lm.runNet(F)))],
    ['landmarks (tiny)', await time(runs, run(() => lmt.runNet(F)))],
    ['embed (per face)', await time(runs, run(() => rec.forwardInput(F)))],
  ];
  for (const [stage, [med, p95]] of rows)
    console.log(`${stage.padEnd(22)} ${'face-api tfjs-wasm 1 thr'.padEnd(26)} ${med.toFixed(2).padStart(9)} ${p95.toFixed(2).padStart(9)}`);
})().catch((e) => { console.error('bench.js:', e.message); process.exit(1); });
