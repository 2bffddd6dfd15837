/*! dejaview browser SDK v1 — served by dejaviewd at /sdk/v1/dejaview.js. No dependencies.
 *
 *   <script src="https://faces.example.com/sdk/v1/dejaview.js"></script>
 *   <script>
 *     const dv = Dejaview.init({ server: 'https://faces.example.com', key: 'dvp_...' });
 *     dv.frontDesk(document.getElementById('desk'), { mode: 'auto', onResult: (r) => console.log(r) });
 *   </script>
 *
 * init({server, key}) -> client:
 *   recognize(input [, {location, camera, fields}])  input: Blob, File, canvas, video, or img element
 *   detect(input)
 *   enrol({name, externalId, attributes}, input, {eventId})  a new person with this face (or the face a
 *                                                    recognition saw: faces[i].event_id)
 *   me()                                              the key's own scopes: {id, name, publishable, scopes, rate_per_minute}
 *   frontDesk(element, {mode: 'auto' | 'button', onResult, onError, onEnrolled, cooldownMs, enrol, camera, location})
 *   watch(video, {onSteady, onError})   the zero-touch loop alone, for a page that draws its own desk
 * Errors reject with a DejaviewError: {code, status, message} — the API's stable codes.
 */
(function (root) {
  'use strict';

  function DejaviewError(code, message, status) {
    this.name = 'DejaviewError';
    this.code = code;
    this.status = status;
    this.message = message || code;
  }
  DejaviewError.prototype = Object.create(Error.prototype);
  DejaviewError.prototype.constructor = DejaviewError;

  var WORDS = {
    no_face: 'No face was found. Face the camera, in good light.',
    multiple_faces: 'Only one person in front of the camera, please.',
    forbidden: 'This key may not do that.',
    rate_limited: 'Too many requests: wait a moment.',
    unauthorized: 'The key is not valid.',
    overloaded: 'The server is busy: try again in a moment.',
    database_unavailable: 'The server is busy: try again in a moment.',
    low_quality: 'The photo is not good enough: face the camera, in good light.'
  };

  // input -> a JPEG Blob no wider than maxSide (a Blob or File is sent as it is)
  function toBlob(input, maxSide, quality) {
    if (typeof Blob !== 'undefined' && input instanceof Blob) return Promise.resolve(input);
    var w = input.videoWidth || input.naturalWidth || input.width;
    var h = input.videoHeight || input.naturalHeight || input.height;
    if (!w || !h) return Promise.reject(new DejaviewError('bad_image', 'The camera has no picture yet.', 0));
    var s = maxSide && Math.max(w, h) > maxSide ? maxSide / Math.max(w, h) : 1;
    var c = document.createElement('canvas');
    c.width = Math.round(w * s);
    c.height = Math.round(h * s);
    c.getContext('2d').drawImage(input, 0, 0, c.width, c.height);
    return new Promise(function (resolve, reject) {
      c.toBlob(function (b) { b ? resolve(b) : reject(new DejaviewError('bad_image', 'The picture could not be encoded.', 0)); },
        'image/jpeg', quality || 0.9);
    });
  }

  function init(opts) {
    if (!opts || !opts.key) throw new DejaviewError('unauthorized', 'Dejaview.init needs {server, key}', 0);
    var server = (opts.server || '').replace(/\/+$/, '');
    var key = opts.key;

    function call(method, path, body, type) {
      var headers = { Authorization: 'Bearer ' + key };
      if (type) headers['Content-Type'] = type;
      return fetch(server + path, { method: method, headers: headers, body: body, mode: 'cors', credentials: 'omit' })
        .catch(function () { throw new DejaviewError('unreachable', 'The server cannot be reached.', 0); })
        .then(function (res) {
          return res.text().then(function (t) {
            var j = null;
            try { j = t ? JSON.parse(t) : null; } catch (e) { /* not JSON */ }
            if (res.ok) return j;
            var e = (j && j.error) || {};
            var err = new DejaviewError(e.code || 'http_' + res.status, e.message || WORDS[e.code], res.status);
            var ra = res.headers.get('Retry-After');
            if (ra) err.retryAfter = Number(ra);
            throw err;
          });
        });
    }

    function query(o) {
      var q = [];
      if (o) ['location', 'camera'].forEach(function (k) { if (o[k]) q.push(k + '=' + encodeURIComponent(o[k])); });
      if (o && o.fields) q.push('fields=' + encodeURIComponent(JSON.stringify(o.fields)));
      return q.length ? '?' + q.join('&') : '';
    }

    var client = {
      recognize: function (input, o) {
        return toBlob(input, 1280, 0.9).then(function (b) { return call('POST', '/v1/recognize' + query(o), b, 'image/jpeg'); });
      },
      detect: function (input) {
        return toBlob(input, 320, 0.7).then(function (b) { return call('POST', '/v1/detect', b, 'image/jpeg'); });
      },
      // o.eventId: the face a recognition saw (its faces[i].event_id), kept by
      // the server for a while — no second photo, and the face that was
      // judged; when it is gone (410 event_face_gone), input is captured instead
      enrol: function (person, input, o) {
        var body = { name: person.name };
        if (person.externalId) body.external_id = person.externalId;
        if (person.attributes) body.attributes = person.attributes;
        var created;
        function photo() {
          return toBlob(input, 1280, 0.92).then(function (b) {
            return call('POST', '/v1/persons/' + created.id + '/faces', b, 'image/jpeg');
          });
        }
        return call('POST', '/v1/persons', JSON.stringify(body), 'application/json').then(function (p) {
          created = p;
          if (!(o && o.eventId)) return photo();
          return call('POST', '/v1/persons/' + created.id + '/faces?event_id=' + encodeURIComponent(o.eventId))
            .catch(function (err) { if (err.code === 'event_face_gone' && input) return photo(); throw err; });
        }).then(function (f) { return { person: created, face: f }; });
      },
      me: function () { return call('GET', '/v1/key'); },
      frontDesk: function (element, o) { return frontDesk(client, element, o || {}); },
      watch: function (video, o) { return watch(client, video, o); }
    };
    return client;
  }

  // Zero-touch: watch(video) looks at the camera a few times a second and calls
  // onSteady() when one face, large enough, has held still for a few looks. A
  // look is a /v1/detect of a small frame, and is only sent when the scene
  // moved or a face was seen lately: a still, empty scene sends nothing. After
  // onSteady the visitor counts as present until two looks find nobody, so one
  // visit is one recognition however long they stay.
  function watch(client, video, o) {
    o = o || {};
    var cfg = {
      everyMs: o.detectEveryMs || 400,     // at most 2.5 looks a second
      minFace: o.minFace || 0.15,          // a face at least this fraction of the frame's width
      steady: o.steadyLooks || 2,          // this many looks in a row, the face barely moving
      idleMs: o.idleMs || 2500,            // after a recognition, no look for this long
      motion: o.motionThreshold || 4       // mean change of a 32x24 gray thumbnail (0..255) that counts as movement
    };
    var stopped = false, busy = false, last = null, steadyCount = 0, prev = null, lastFaceSeen = 0;
    var restUntil = 0, present = false, emptyLooks = 0;
    var stats = { looks: 0, recognitions: 0, skippedStill: 0 };
    var tc = document.createElement('canvas');
    tc.width = 32; tc.height = 24;
    var tx = tc.getContext('2d', { willReadFrequently: true });
    function motion() {
      tx.drawImage(video, 0, 0, 32, 24);
      var d = tx.getImageData(0, 0, 32, 24).data, g = new Uint8Array(768), sum = 0, k;
      for (k = 0; k < 768; k++) g[k] = (d[4 * k] * 3 + d[4 * k + 1] * 6 + d[4 * k + 2]) / 10;
      if (prev) for (k = 0; k < 768; k++) sum += Math.abs(g[k] - prev[k]);
      var first = !prev;
      prev = g;
      return first ? 255 : sum / 768;
    }
    function look() {
      if (stopped || busy || document.hidden || !video.videoWidth || Date.now() < restUntil) return;
      if (motion() < cfg.motion && Date.now() - lastFaceSeen > 3 * cfg.everyMs) { stats.skippedStill++; return; }
      busy = true;
      stats.looks++;
      client.detect(video).then(function (r) {
        var faces = r.faces || [];
        if (faces.length === 0) { if (++emptyLooks >= 2) present = false; } else { emptyLooks = 0; lastFaceSeen = Date.now(); }
        if (o.onLook) o.onLook(faces.length);
        if (faces.length !== 1) { steadyCount = 0; last = null; busy = false; return; }
        var b = faces[0].box, W = r.image && r.image.width ? r.image.width : 320;
        if (b.w < cfg.minFace * W) { steadyCount = 0; last = b; busy = false; if (o.onFar) o.onFar(); return; }
        var still = last && Math.abs(b.x + b.w / 2 - last.x - last.w / 2) < 0.1 * b.w &&
          Math.abs(b.y + b.h / 2 - last.y - last.h / 2) < 0.1 * b.h && Math.abs(b.w - last.w) < 0.15 * b.w;
        last = b;
        steadyCount = still ? steadyCount + 1 : 0;
        if (steadyCount + 1 < cfg.steady || present) { busy = false; return; }
        steadyCount = 0;
        stats.recognitions++;
        return Promise.resolve(o.onSteady()).then(function () {
          present = true;
          restUntil = Date.now() + cfg.idleMs;
          busy = false;
        }, function () { busy = false; restUntil = Date.now() + cfg.idleMs; });
      }, function (err) {
        busy = false;
        restUntil = Date.now() + (err && err.retryAfter ? 1000 * err.retryAfter : cfg.idleMs);
        if (o.onError) o.onError(err);
      });
    }
    var timer = setInterval(look, cfg.everyMs);
    return {
      stop: function () { stopped = true; clearInterval(timer); },
      pause: function (ms) { restUntil = ms === Infinity ? Infinity : Date.now() + ms; },
      resume: function () { restUntil = 0; present = false; },
      stats: stats
    };
  }

  // ------------------------------------------------------------------ the front desk

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  var CSS = '.dv-desk{font:15px/1.4 system-ui,sans-serif;max-width:480px}' +
    '.dv-desk video{width:100%;border-radius:8px;background:#111;display:block}' +
    '.dv-desk .dv-status{color:#667085;min-height:1.4em;margin:6px 0}' +
    '.dv-desk .dv-greeting{font-size:22px;font-weight:600;margin:8px 0}' +
    '.dv-desk form{display:grid;gap:6px;margin-top:8px}.dv-desk input{font:inherit;padding:7px;border:1px solid #d0d5dd;border-radius:6px}' +
    '.dv-desk button{font:inherit;padding:8px 14px;border:0;border-radius:6px;background:#2456d6;color:#fff;cursor:pointer}' +
    '.dv-desk .dv-error{color:#b42318}';

  // What the hooks said, in words: the first greeting or message.
  function greetingOf(face) {
    var hooks = face && face.hooks ? face.hooks : {};
    for (var k in hooks) {
      if (hooks[k] && (hooks[k].greeting || hooks[k].message)) return hooks[k].greeting || hooks[k].message;
    }
    if (face && face.match && face.match.person) return 'Welcome, ' + face.match.person.name + '!';
    return '';
  }

  function frontDesk(client, element, o) {
    var mode = o.mode === 'button' ? 'button' : 'auto';
    var cooldownMs = o.cooldownMs || 30000;  // the same person is not greeted again within this
    if (!document.getElementById('dv-desk-css')) {
      var st = el('style'); st.id = 'dv-desk-css'; st.textContent = CSS; document.head.appendChild(st);
    }
    var box = el('div', 'dv-desk');
    var video = el('video'); video.autoplay = true; video.muted = true; video.playsInline = true;
    var status = el('p', 'dv-status');
    var result = el('div', 'dv-result');
    box.appendChild(video);
    var button = null;
    if (mode === 'button') { button = el('button', 'dv-capture', 'Capture'); box.appendChild(button); }
    box.appendChild(status);
    box.appendChild(result);
    element.appendChild(box);
    var stream = null, watcher = null, busy = false, greeted = {};
    var canEnrol = o.enrol !== false;
    // strangers are offered enrolment only when the key may enrol
    if (canEnrol) client.me().then(function (k) { canEnrol = (k.scopes || []).indexOf('enrol') >= 0; }, function () {});

    function say(t, bad) { status.textContent = t || ''; status.className = 'dv-status' + (bad ? ' dv-error' : ''); }
    function report(err) { say(WORDS[err.code] || err.message, true); if (o.onError) o.onError(err); }

    function enrolForm(eventId) {
      var form = el('form', 'dv-enrol');
      var name = el('input'); name.name = 'name'; name.placeholder = 'Your name'; name.required = true; name.maxLength = 200;
      var go = el('button', null, 'Remember me'); go.type = 'submit';
      var no = el('button', 'dv-not-now', 'Not now'); no.type = 'reset';
      form.appendChild(el('strong', null, 'New visitor — enrol?'));
      form.appendChild(name);
      form.appendChild(go);
      form.appendChild(no);
      if (watcher) watcher.pause(Infinity); // nothing is sent while the visitor types
      form.addEventListener('submit', function (ev) {
        ev.preventDefault();
        client.enrol({ name: name.value }, video, { eventId: eventId }).then(function (e) {
          result.textContent = '';
          result.appendChild(el('div', 'dv-greeting', 'Nice to meet you, ' + e.person.name + '!'));
          greeted[e.person.id] = Date.now();
          if (watcher) watcher.pause(5000);
          if (o.onEnrolled) o.onEnrolled(e);
        }, report);
      });
      form.addEventListener('reset', function () { result.textContent = ''; if (watcher) watcher.resume(); });
      result.appendChild(form);
    }

    function recognize() {
      if (busy) return Promise.resolve();
      busy = true;
      say('One moment…');
      return client.recognize(video, { camera: o.camera, location: o.location }).then(function (r) {
        busy = false;
        say('');
        var f = r.faces && r.faces[0];
        if (!f) { say(WORDS.no_face, true); return; }
        var pid = f.match && f.match.person ? f.match.person.id : 0;
        if (pid && Date.now() - (greeted[pid] || -Infinity) < cooldownMs) return; // greeted a moment ago
        if (pid) greeted[pid] = Date.now();
        result.textContent = '';
        result.appendChild(el('div', 'dv-greeting', greetingOf(f) || (pid ? '' : 'Welcome! We have not met yet.')));
        if (!pid && canEnrol) enrolForm(f.event_id); // the face just seen, not a new capture
        if (o.onResult) o.onResult(r);
      }, function (err) { busy = false; report(err); throw err; });
    }

    var ready = navigator.mediaDevices && navigator.mediaDevices.getUserMedia
      ? navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480, facingMode: 'user' }, audio: false })
      : Promise.reject(new DejaviewError('no_camera', 'No camera here (it needs https or localhost).', 0));
    ready.then(function (s) {
      stream = s;
      video.srcObject = s;
      if (mode === 'auto') {
        watcher = watch(client, video, { onSteady: recognize, onError: report, detectEveryMs: o.detectEveryMs,
          minFace: o.minFace, idleMs: o.idleMs, onFar: function () { say('Come a little closer.'); } });
        say('Look at the camera.');
      } else {
        button.addEventListener('click', function () { recognize().catch(function () {}); });
      }
    }, report);

    return {
      stop: function () {
        if (watcher) watcher.stop();
        if (stream) stream.getTracks().forEach(function (t) { t.stop(); });
      },
      get stats() { return watcher ? watcher.stats : null; }
    };
  }

  root.Dejaview = { init: init, Error: DejaviewError, version: '1' };
})(typeof window !== 'undefined' ? window : this);
