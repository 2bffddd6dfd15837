// tests/oracle/oracle.js — regenerates tests/oracle/golden.json with face-api 1.7.15 on tfjs (cpu backend).
// usage: node oracle.js OUT.json IMAGE.ppm...   (binary P6 PPM, written by our own decoder so both sides see
// the same pixels). For each image: the recognition descriptor (whole image as the face, toBatchTensor(150,
// centred), (x - mean) / 255), the raw 136 outputs of both landmark nets (112, centred), and the raw output
// grid of the tiny face detector at 224, 320 and 416 (padToSquare bottom/right), in NHWC order.
// Run by tests/oracle/regenerate.sh; the result is committed as tests/oracle/golden.json.
const fs = require('fs');
const path = require('path');
const faceapi = require('@vladmandic/face-api/dist/face-api.node-wasm.js');
const tf = faceapi.tf;
const common = require('./common.js');
const readPPM = (file) => common.readPPM(tf, file);
const load = (net, dir, name) => common.load(tf, net, dir, name);



(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
  const [out, ...images] = process.argv.slice(2);
  const dir = common.modelDir();
  const rec = load(faceapi.nets.faceRecognitionNet, dir, 'face_recognition_model');
  const lm = load(faceapi.nets.faceLandmark68Net, dir, 'face_landmark_68_model');
  const lmt = load(faceapi.nets.faceLandmark68TinyNet, dir, 'face_landmark_68_tiny_model');
  const det = load(faceapi.nets.tinyFaceDetector, dir, 'tiny_face_detector_model');
  const golden = { oracle: '@vladmandic/face-api 1.7.15, @tensorflow/tfjs 4.22.0, backend ' + tf.getBackend(), images: {} };
  for (const file of images) {
    const img = readPPM(file);
    const input = await faceapi.toNetInput(img);
    const g = {};
    g.descriptor = Array.from(await tf.tidy(() => rec.forwardInput(input)).data());
    g.landmarks68 = Array.from(await tf.tidy(() => lm.runNet(input)).data());
    g.landmarks68tiny = Array.from(await tf.tidy(() => lmt.runNet(input)).data());
    for (const size of [224, 320, 416]) {
      const t = tf.tidy(() => det.forwardInput(input, size));
      g['detector' + size] = Array.from(await t.data());
      t.dispose();
    }
    golden.images[path.basename(file, '.ppm')] = g;
    img.dispose();
  }
  // 9 significant digits hold a float32 exactly
  fs.writeFileSync(out, JSON.stringify(golden, (k, v) => (typeof v === 'number' ? +v.toPrecision(9) : v)));
})();
