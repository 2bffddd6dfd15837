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

function readPPM(file) {
  const b = fs.readFileSync(file);
  let pos = 0;
  const tok = () => {
    while (b[pos] === 0x20 || b[pos] === 0x0a || b[pos] === 0x0d || b[pos] === 0x09) pos++;
    let s = '';
    while (b[pos] > 0x20) s += String.fromCharCode(b[pos++]);
    return s;
  };
  if (tok() !== 'P6') throw new Error(file + ': not a P6 PPM');
  const w = +tok(), h = +tok(), max = +tok();
  pos++;
  if (max !== 255) throw new Error(file + ': maxval must be 255');
  return tf.tensor3d(new Uint8Array(b.subarray(pos, pos + w * h * 3)), [h, w, 3], 'int32');
}

function load(net, dir, name) {
  const man = JSON.parse(fs.readFileSync(path.join(dir, name + '-weights_manifest.json')));
  const bufs = man[0].paths.map((p) => fs.readFileSync(path.join(dir, p)));
  const all = Buffer.concat(bufs);
  const map = tf.io.decodeWeights(new Uint8Array(all).buffer.slice(all.byteOffset, all.byteOffset + all.length), man[0].weights);
  net.loadFromWeightMap(map);
  return net;
}

(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
  const [out, ...images] = process.argv.slice(2);
  const dir = path.join(path.dirname(require.resolve('@vladmandic/face-api/package.json')), 'model');
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
