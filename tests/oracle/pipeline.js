// tests/oracle/pipeline.js — face-api 1.7.15's whole pipeline on one photo, as its users call it, for the
// end-to-end golden test (tests/models/faces_jpg.sh): detectAllFaces(TinyFaceDetectorOptions{inputSize 416})
// .withFaceLandmarks().withFaceDescriptors() on tfjs's pure-JS cpu backend.
// usage: node pipeline.js OUT.json PHOTO.ppm [REFERENCE.json]
// PHOTO.ppm is written by our own decoder (tests/tools/dv_topnm) so both sides see the same pixels. Faces are
// sorted as face-api.js's tests sort them (distance of the box's top-left corner to the origin); with
// REFERENCE.json (faces_jpg_reference.json) each face takes the identity at the same index.
const fs = require('fs');
const path = require('path');
const faceapi = require('@vladmandic/face-api/dist/face-api.node-wasm.js');
const tf = faceapi.tf;
const common = require('./common.js');
const readPPM = (file) => common.readPPM(tf, file);
const load = (net, dir, name) => common.load(tf, net, dir, name);



(async () => {
  const [out, photo, refFile] = process.argv.slice(2);
  await tf.setBackend('cpu');
  await tf.ready();
  const dir = common.modelDir();
  load(faceapi.nets.tinyFaceDetector, dir, 'tiny_face_detector_model');
  load(faceapi.nets.faceLandmark68Net, dir, 'face_landmark_68_model');
  load(faceapi.nets.faceRecognitionNet, dir, 'face_recognition_model');
  const ref = refFile ? JSON.parse(fs.readFileSync(refFile)) : null;
  const img = readPPM(photo);
  const r = await faceapi.detectAllFaces(img, new faceapi.TinyFaceDetectorOptions({ inputSize: 416 }))
    .withFaceLandmarks().withFaceDescriptors();
  r.sort((a, b) => Math.hypot(a.detection.box.x, a.detection.box.y) - Math.hypot(b.detection.box.x, b.detection.box.y));
  const golden = {
    oracle: '@vladmandic/face-api 1.7.15, @tensorflow/tfjs 4.22.0, backend ' + tf.getBackend(),
    call: 'detectAllFaces(TinyFaceDetectorOptions{inputSize: 416}).withFaceLandmarks().withFaceDescriptors()',
    faces: r.map((x, i) => ({
      identity: ref && ref.faces[i] ? ref.faces[i].identity : 'face ' + i,
      box: [x.detection.box.x, x.detection.box.y, x.detection.box.width, x.detection.box.height],
      score: x.detection.score,
      face_landmark_68: x.landmarks.positions.map((p) => [p.x, p.y]),
      descriptor_box: ((b) => [b.x, b.y, b.width, b.height])(x.landmarks.align(null, { useDlibAlignment: true })),
      face_descriptor_128: Array.from(x.descriptor),
    })),
  };
  // 9 significant digits hold a float32 exactly
  fs.writeFileSync(out, JSON.stringify(golden, (k, v) => (typeof v === 'number' ? +v.toPrecision(9) : v)));
})().catch((e) => { console.error('pipeline.js:', e.message); process.exit(1); });
