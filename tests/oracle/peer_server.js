// tests/oracle/peer_server.js — the face-api peer of `make bench`'s end-to-end table: what a Node developer builds
// with face-api 1.7.15 on tfjs-wasm (one thread): an HTTP server whose POST /recognize decodes the JPEG (jpeg-js),
// runs detectAllFaces(TinyFaceDetectorOptions{inputSize: 416}).withFaceLandmarks().withFaceDescriptors(), and
// finds each face's nearest of GALLERY synthetic 128-D faces by brute force, answering JSON.
// usage: node peer_server.js PORTFILE GALLERY [WORKERS]   (WORKERS processes share the port, node's cluster)
const cluster = require('cluster');
const fs = require('fs');
const http = require('http');
const jpeg = require('jpeg-js');
const faceapi = require('@vladmandic/face-api/dist/face-api.node-wasm.js');
const wasm = require('@tensorflow/tfjs-backend-wasm');
const tf = faceapi.tf;
const common = require('./common.js');

const workers = +process.argv[4] || 1;
if (cluster.isPrimary && workers > 1) {
  for (let i = 0; i < workers; i++) cluster.fork();
  return;
}

(async () => {
  const [portfile, galleryArg] = process.argv.slice(2);
  const n = +galleryArg || 100000;
  wasm.setWasmPaths(require('path').dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')) + '/dist/');
  if (wasm.setThreadsCount) wasm.setThreadsCount(1);
  await tf.setBackend('wasm');
  await tf.ready();
  const dir = common.modelDir();
  common.load(tf, faceapi.nets.tinyFaceDetector, dir, 'tiny_face_detector_model');
  common.load(tf, faceapi.nets.faceLandmark68Net, dir, 'face_landmark_68_model');
  common.load(tf, faceapi.nets.faceRecognitionNet, dir, 'face_recognition_model');
  // the gallery: dlib-like random vectors, as tests/bench/gallery_fill.c makes them
  const g = new Float32Array(n * 128);
  for (let i = 0; i < g.length; i++) g[i] = (Math.random() + Math.random() + Math.random() + Math.random() - 2) * 0.153;
  const opt = new faceapi.TinyFaceDetectorOptions({ inputSize: 416 });
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      try {
        const raw = jpeg.decode(Buffer.concat(chunks), { useTArray: true, formatAsRGBA: false });
        const img = tf.tensor3d(raw.data, [raw.height, raw.width, 3], 'int32');
        const faces = await faceapi.detectAllFaces(img, opt).withFaceLandmarks().withFaceDescriptors();
        img.dispose();
        const out = faces.map((f) => {
          const d = f.descriptor;
          let best = -1, bd = Infinity;
          for (let i = 0; i < n; i++) {
            let s = 0;
            const o = i * 128;
            for (let k = 0; k < 128; k++) { const x = d[k] - g[o + k]; s += x * x; }
            if (s < bd) { bd = s; best = i; }
          }
          return { box: f.detection.box, score: f.detection.score, match: best, distance: Math.sqrt(bd) };
        });
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ faces: out }));
      } catch (e) {
        res.writeHead(422, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ error: e.message }));
      }
    });
  });
  server.listen(0, '127.0.0.1', () => fs.writeFileSync(portfile + (cluster.isWorker ? '.' + cluster.worker.id : ''),
    String(server.address().port)));
})().catch((e) => { console.error('peer_server.js:', e.message); process.exit(1); });
