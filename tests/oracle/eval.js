// tests/oracle/eval.js — face-api 1.7.15's own pipeline, the peer in `make eval` (tfjs-wasm, one thread).
// usage: node eval.js LIST OUT
// LIST: one image per line, "NAME<TAB>FILE.ppm" (binary P6, written by our decoder so both sides see the same
// pixels). For each image and each detector input size 224, 320 and 416, face-api runs as its users run it:
// detectSingleFace(TinyFaceDetectorOptions{inputSize, scoreThreshold 0.5}).withFaceLandmarks()
// .withFaceDescriptor(); where no face is found, the whole image is the face (computeFaceDescriptor on the whole
// image) — the "whole-image fallback". OUT gets one line per image and size: NAME<TAB>SIZE FALLBACK d0 .. d127.
const fs = require('fs');
const path = require('path');
const faceapi = require('@vladmandic/face-api/dist/face-api.node-wasm.js');
const wasm = require('@tensorflow/tfjs-backend-wasm');
const tf = faceapi.tf;
const common = require('./common.js');
const readPPM = (file) => common.readPPM(tf, file);
const load = (net, dir, name) => common.load(tf, net, dir, name);



(async () => {
  const [list, out] = process.argv.slice(2);
  wasm.setWasmPaths(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')) + '/dist/');
  if (wasm.setThreadsCount) wasm.setThreadsCount(1);
  await tf.setBackend('wasm');
  await tf.ready();
  const dir = common.modelDir();
  load(faceapi.nets.tinyFaceDetector, dir, 'tiny_face_detector_model');
  load(faceapi.nets.faceLandmark68Net, dir, 'face_landmark_68_model');
  load(faceapi.nets.faceRecognitionNet, dir, 'face_recognition_model');
  const lines = fs.readFileSync(list, 'utf8').split('\n').filter((l) => l);
  const fd = fs.openSync(out + '.tmp', 'w');
  let done = 0;
  for (const l of lines) {
    const [name, file] = l.split('\t');
    const img = readPPM(file);
    let whole = null;
    for (const size of [224, 320, 416]) {
      const opt = new faceapi.TinyFaceDetectorOptions({ inputSize: size, scoreThreshold: 0.5 });
      const r = await faceapi.detectSingleFace(img, opt).withFaceLandmarks().withFaceDescriptor();
      let d, fb = 0;
      if (r) {
        d = r.descriptor;
      } else {
        if (!whole) whole = await faceapi.nets.faceRecognitionNet.computeFaceDescriptor(img);
        d = whole;
        fb = 1;
      }
      fs.writeSync(fd, `${name}\t${size} ${fb} ${Array.from(d, (v) => v.toPrecision(9)).join(' ')}\n`);
    }
    img.dispose();
    if (process.stderr.isTTY && (++done % 25 === 0 || done === lines.length))
      process.stderr.write(`\rface-api eval: ${done}/${lines.length} images`);
  }
  fs.closeSync(fd);
  fs.renameSync(out + '.tmp', out);
  if (process.stderr.isTTY) process.stderr.write('\n');
})().catch((e) => { console.error('eval.js:', e.message); process.exit(1); });
