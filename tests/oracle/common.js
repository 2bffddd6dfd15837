// tests/oracle/common.js — what every oracle script needs: read a binary PPM written by our own decoder
// (tests/tools/dv_topnm) into an int32 tensor, and load a face-api net from its weights manifest.
const fs = require('fs');
const path = require('path');

function readPPM(tf, file) {
  const b = fs.readFileSync(file);
  let pos = 0;
  const tok = () => {
    while (b[pos] <= 0x20) pos++;
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

function load(tf, net, dir, name) {
  const man = JSON.parse(fs.readFileSync(path.join(dir, name + '-weights_manifest.json')));
  const all = Buffer.concat(man[0].paths.map((p) => fs.readFileSync(path.join(dir, p))));
  net.loadFromWeightMap(tf.io.decodeWeights(new Uint8Array(all).buffer.slice(all.byteOffset, all.byteOffset + all.length), man[0].weights));
  return net;
}

function modelDir() {
  return path.join(path.dirname(require.resolve('@vladmandic/face-api/package.json')), 'model');
}

module.exports = { readPPM, load, modelDir };
