// app.js — the front-desk page: sign in with a tenant key, capture a face, recall or enrol, today's visits, a
// person's page. No framework, no build step; talks to the /v1 API of the server that serves it.
'use strict';

const $ = (id) => document.getElementById(id);
const state = { key: sessionStorage.getItem('dvKey') || '', lastPhoto: null, chipUrls: [] };

// Every API error in plain words (the code is stable; the server's message adds detail).
const WORDS = {
  unauthorized: 'This key is not valid (or was revoked). Sign in again.',
  no_face: 'No face was found. Face the camera, in good light, and try again.',
  multiple_faces: 'Several faces are in the picture: only the visitor should be in front of the camera.',
  bad_image: 'The picture could not be read. Try another photo.',
  unsupported_media_type: 'This kind of file is not a photo the server reads (use JPEG or PNG).',
  image_too_large: 'The photo is too large.', body_too_large: 'The photo is too large.',
  overloaded: 'The server is busy. Try again in a moment.',
  database_unavailable: 'The database is unavailable. Try again in a moment.',
  plugin_unavailable: 'Face recognition is unavailable on the server right now.',
  shutting_down: 'The server is restarting. Try again in a moment.',
  duplicate_face: 'This face is already enrolled as someone else.',
  conflict: 'Someone with this id already exists.',
  invalid_field: 'Please check the form.',
  not_found: 'Not found (it may have been deleted).',
};

async function api(method, path, body, type) {
  const headers = { Authorization: 'Bearer ' + state.key };
  if (type) headers['Content-Type'] = type;
  let res;
  try {
    res = await fetch(path, { method, headers, body });
  } catch (e) {
    throw new Error('The server cannot be reached. Check the network.');
  }
  if (res.ok) return (res.headers.get('Content-Type') || '').startsWith('application/json') ? res.json() : res.blob();
  let code = '', message = '';
  try { const j = await res.json(); code = j.error.code; message = j.error.message; } catch (e) { /* not JSON */ }
  const err = new Error((WORDS[code] || 'Something went wrong (' + res.status + ').') + (message && !WORDS[code] ? ' ' + message : ''));
  err.code = code;
  err.detail = message;
  if (code === 'unauthorized') signOut(err.message);
  throw err;
}

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'onclick') e.addEventListener('click', v);
    else if (k === 'onchange') e.addEventListener('change', v);
    else if (v !== undefined && v !== null) e.setAttribute(k, v);
  }
  for (const k of kids) if (k !== null && k !== undefined) e.append(k instanceof Node ? k : String(k));
  return e;
}

function status(text, bad) {
  $('status').textContent = text || '';
  $('status').classList.toggle('error', !!bad);
}

// ---------------------------------------------------------------- sign in

async function signIn(key) {
  state.key = key.trim();
  stopAuto();
  const t = await api('GET', '/v1/tenant');
  sessionStorage.setItem('dvKey', state.key);
  $('tenant').textContent = t.name;
  $('who').hidden = false;
  $('signin').hidden = true;
  $('desk').hidden = false;
  startCamera();
  loadVisits();
}

function signOut(why) {
  stopAuto();
  sessionStorage.removeItem('dvKey');
  state.key = '';
  $('who').hidden = true;
  $('desk').hidden = true;
  $('signin').hidden = false;
  $('signin-error').hidden = !why;
  $('signin-error').textContent = why || '';
  const v = $('video');
  if (v.srcObject) v.srcObject.getTracks().forEach((t) => t.stop());
  v.srcObject = null;
}

$('signin-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  $('signin-error').hidden = true;
  try { await signIn($('key').value); } catch (e) { $('signin-error').hidden = false; $('signin-error').textContent = e.message; }
});
$('signout').addEventListener('click', () => signOut());

// ---------------------------------------------------------------- camera

async function startCamera() {
  const note = $('camera-note');
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    note.hidden = false;
    note.textContent = 'No camera here (it needs https or localhost). Upload a photo instead.';
    return;
  }
  try {
    const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480, facingMode: 'user' }, audio: false });
    $('video').srcObject = stream;
    // Capture once the first frame is there (before it, the picture would be black)
    if (!$('video').videoWidth) await new Promise((resolve) => $('video').addEventListener('loadeddata', resolve, { once: true }));
    $('capture').disabled = false;
    note.hidden = true;
  } catch (e) {
    note.hidden = false;
    note.textContent = 'The camera is not available (' + e.name + '). Upload a photo instead.';
  }
}

function grab() {
  const v = $('video');
  const c = document.createElement('canvas');
  c.width = v.videoWidth || 640;
  c.height = v.videoHeight || 480;
  c.getContext('2d').drawImage(v, 0, 0, c.width, c.height);
  return new Promise((resolve) => c.toBlob(resolve, 'image/jpeg', 0.92));
}

$('capture').addEventListener('click', async () => recognize(await grab()));

// Zero-touch: the SDK's watch (/sdk/v1/dejaview.js) looks a few times a second
// with small detections, only while something moves, and recognises once when
// one face is close and steady; the page draws the result as for Capture.
function startAuto() {
  stopAuto();
  if (!window.Dejaview) { status('The zero-touch mode needs /sdk/v1/dejaview.js.', true); return; }
  const dv = window.Dejaview.init({ server: '', key: state.key });
  state.watcher = dv.watch($('video'), {
    onSteady: async () => {
      await recognize(await grab());
      // a stranger: wait while the enrolment form is open
      if (!$('enrol').hidden && state.watcher) state.watcher.pause(Infinity);
    },
    onError: (e) => status(e.message, true),
  });
  status('Zero-touch: step up to the camera.');
}
function stopAuto() {
  if (state.watcher) state.watcher.stop();
  state.watcher = null;
}
$('auto').addEventListener('change', () => ($('auto').checked ? startAuto() : stopAuto()));
$('upload').addEventListener('change', (ev) => { if (ev.target.files[0]) recognize(ev.target.files[0]); ev.target.value = ''; });

// ---------------------------------------------------------------- recognize, enrol

async function chip(faceId) {
  try {
    const b = await api('GET', '/v1/faces/' + faceId + '/chip');
    const u = URL.createObjectURL(b);
    state.chipUrls.push(u);
    return el('img', { src: u, alt: 'face' });
  } catch (e) { return el('img', { alt: '' }); }
}

function hookLines(hooks) {
  const out = [];
  for (const [name, h] of Object.entries(hooks || {})) {
    const text = h.message || h.greeting;
    if (text) out.push(el('p', { class: 'hook', 'data-hook': name }, text));
    const tags = [];
    if (h.visit !== undefined) tags.push(el('span', { class: 'tag', 'data-visits': h.visit }, 'visit ' + h.visit));
    if (h.points !== undefined) tags.push(el('span', { class: 'tag' }, h.points + ' points'));
    if (h.tier) tags.push(el('span', { class: 'tag' }, h.tier));
    if (h.preferences) for (const [k, v] of Object.entries(h.preferences)) tags.push(el('span', { class: 'tag' }, k.replace('_', ' ') + ': ' + v));
    if (tags.length) out.push(el('p', { class: 'hook' }, ...tags));
  }
  return out;
}

async function recognize(photo) {
  state.lastPhoto = photo;
  state.faceEventId = null;
  $('enrol').hidden = true;
  $('person').hidden = true;
  status('Looking…');
  state.chipUrls.forEach((u) => URL.revokeObjectURL(u));
  state.chipUrls = [];
  let r;
  try {
    r = await api('POST', '/v1/recognize?location=front-desk', photo, 'application/octet-stream');
  } catch (e) { status(e.message, true); return; }
  const box = $('result');
  box.replaceChildren();
  box.hidden = false;
  if (!r.faces.length) {
    status(WORDS.no_face, true);
    box.hidden = true;
    return;
  }
  status('');
  let unknown = false;
  for (const f of r.faces) {
    if (f.decision === 'uncertain') {
      const why = (f.quality_reasons || []).map((x) => x.replace(/_/g, ' ')).join(', ');
      box.append(el('div', { class: 'face unknown', 'data-decision': 'uncertain' }, el('div', {},
        el('div', { class: 'name' }, 'Not sure'),
        el('p', { class: 'hook' }, 'The face is hard to see' + (why ? ' (' + why + ')' : '') + ': please look at the camera and capture again.'))));
      continue;
    }
    if (f.decision === 'confirm' && r.faces.length === 1) {
      state.lastEventId = f.event_id;
      state.faceEventId = f.event_id;
      /* the server is not sure enough to greet: ask, with the nearest people */
      const seen = new Set(), picks = [];
      for (const c of f.candidates || []) {
        if (!c.person || seen.has(c.person.id) || picks.length === 3) continue;
        seen.add(c.person.id);
        picks.push(c);
      }
      const row = el('div', { class: 'confirm' });
      for (const c of picks) {
        row.append(el('div', { class: 'face known' }, await chip(c.face_id),
          el('div', {}, el('button', { class: 'primary', 'data-confirm': c.person.id, onclick: () => confirmAs(c.person) }, 'Yes, ' + c.person.name))));
      }
      box.append(el('div', { class: 'face unknown', 'data-decision': 'confirm' }, el('div', {},
        el('div', { class: 'name' }, 'Is this one of them?'), row,
        el('button', { class: 'secondary', onclick: () => { settle(null); $('enrol').hidden = false; $('enrol-name').focus(); } }, 'No, a new visitor'))));
      continue;
    }
    if (f.match && f.match.person) {
      const p = f.match.person;
      box.append(el('div', { class: 'face known' }, await chip(f.match.face_id),
        el('div', {}, el('div', { class: 'name' }, el('button', { class: 'link', onclick: () => showPerson(p.id) }, p.name)),
          el('div', { class: 'note-inline' }, 'similarity ' + Math.round(f.match.similarity * 100) + '%'),
          ...hookLines(f.hooks))));
    } else {
      unknown = true;
      box.append(el('div', { class: 'face unknown' }, el('div', {}, el('div', { class: 'name' }, 'New visitor'), ...hookLines(f.hooks))));
    }
  }
  if (unknown && r.faces.length === 1) {
    state.faceEventId = r.faces[0].event_id;
    $('enrol').hidden = false;
    $('enrol-name').focus();
  }
  loadVisits();
}

// What the receptionist said is kept with the recognition's event, beside what the model decided.
function settle(personId) {
  if (!state.lastEventId) return;
  api('POST', '/v1/events/' + state.lastEventId + '/outcome', JSON.stringify({ person_id: personId }), 'application/json').catch(() => {});
  state.lastEventId = null;
}

/* The face the recognition kept (events.face_ttl) becomes the person's — no
 * photo sent again; the photo when the server no longer keeps it. */
async function addFace(personId) {
  const ev = state.faceEventId;
  state.faceEventId = null;
  if (ev) {
    try {
      return await api('POST', '/v1/persons/' + personId + '/faces?location=front-desk&event_id=' + ev);
    } catch (e) { if (e.code !== 'event_face_gone') throw e; }
  }
  return api('POST', '/v1/persons/' + personId + '/faces?location=front-desk', state.lastPhoto, 'application/octet-stream');
}

/* The receptionist confirmed who it is: this face becomes one more of theirs
 * (recorded as an enrolment), so that next time they are recognised. */
async function confirmAs(person) {
  settle(person.id);
  try {
    await addFace(person.id);
    $('result').hidden = true;
    status('Welcome, ' + person.name + '! This photo was added to their faces.');
    loadVisits();
  } catch (e) { status(e.message, true); }
}

$('enrol').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const attributes = {};
  if ($('enrol-email').value) attributes.email = $('enrol-email').value;
  if ($('enrol-notes').value) attributes.notes = $('enrol-notes').value;
  $('enrol-submit').disabled = true;
  try {
    const p = await api('POST', '/v1/persons', JSON.stringify({ name: $('enrol-name').value, attributes }), 'application/json');
    try {
      await addFace(p.id);
    } catch (e) {
      await api('DELETE', '/v1/persons/' + p.id).catch(() => {}); // no person without a face
      throw e;
    }
    $('enrol').reset();
    $('enrol').hidden = true;
    $('result').hidden = true;
    status('Enrolled ' + p.name + '. ' + (state.watcher ? 'Welcome!' : 'Capture again to check in.'));
    if (state.watcher) state.watcher.pause(5000);
    loadVisits();
  } catch (e) { status(e.message, true); }
  $('enrol-submit').disabled = false;
});
$('enrol-cancel').addEventListener('click', () => { $('enrol').hidden = true; if (state.watcher) state.watcher.resume(); });

// ---------------------------------------------------------------- sign-up (signup.enabled)

async function showSignup() {
  // offered when the server takes sign-ups (signup.enabled)
  try {
    const r = await (await fetch('/v1/signup')).json();
    $('signup').hidden = !r.enabled;
    $('signup-invitation').required = !!r.invitation;
  } catch (e) { /* offline: no sign-up */ }
}
$('signup-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  $('signup-error').hidden = true;
  try {
    const res = await fetch('/v1/signup', { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ shop: $('signup-shop').value, invitation: $('signup-invitation').value || undefined }) });
    const j = await res.json();
    if (!res.ok) throw new Error((j.error && j.error.message) || 'The shop could not be created.');
    $('signup-key').hidden = false;
    $('signup-key').textContent = 'Your shop "' + j.name + '" is ready. Its key (shown once — keep it safe): ' + j.api_key;
    await signIn(j.api_key);
  } catch (e) { $('signup-error').hidden = false; $('signup-error').textContent = e.message; }
});

// ---------------------------------------------------------------- visits, people

async function loadVisits() {
  const since = new Date();
  since.setHours(0, 0, 0, 0);
  try {
    const r = await api('GET', '/v1/events?kind=recognized&limit=50&since=' + encodeURIComponent(since.toISOString()));
    const ul = $('visits');
    ul.replaceChildren();
    for (const e of r.events) {
      if (!e.person) continue;
      ul.append(el('li', {}, el('button', { class: 'link', onclick: () => showPerson(e.person.id) }, e.person.name),
        el('time', { datetime: e.time }, new Date(e.time).toLocaleTimeString())));
    }
    if (!ul.children.length) ul.append(el('li', {}, el('span', { class: 'note-inline' }, 'No visits yet today.')));
  } catch (e) { /* the status line reports errors of the main flow */ }
  loadOperatingPoint();
}
$('refresh').addEventListener('click', loadVisits);

/* What the decision means for this gallery now, in the rates a desk feels
 * (GET /v1/tenant/operating_point), under the visits. */
async function loadOperatingPoint() {
  try {
    const o = await api('GET', '/v1/tenant/operating_point');
    const pct = (x) => (100 * x).toFixed(x < 0.1 ? 1 : 0) + '%';
    // people are recounted in the background after the gallery changes; until then, the faces
    const people = o.people > 0, n = people ? o.people : o.gallery_faces;
    let text = n + (people ? (n === 1 ? ' person' : ' people') : (n === 1 ? ' face' : ' faces')) + ' enrolled. ';
    if (o.expected) {
      const v = o.expected.visitors_recognised;
      text += 'Expected: ' + pct(o.expected.strangers_named) + ' of strangers given a name, ' +
        (v === null ? 'visitors recognised not measured for a gallery this large' : pct(v) + ' of enrolled visitors recognised') + ' (' +
        (o.expected.decided_by === 'cohort_score' ? 'by the cohort score' : 'by distance') + ').';
    } else if (o.note) {
      text += o.note;
    }
    $('opoint').textContent = text;
  } catch (e) { $('opoint').textContent = ''; }
}

/* One more face of a person, from the camera or a file: the person page. */
async function addPhoto(id, photo) {
  try {
    const r = await api('POST', '/v1/persons/' + id + '/faces?location=front-desk', photo, 'application/octet-stream');
    status('Photo added' + (r.duplicate_of && r.duplicate_of.person && r.duplicate_of.person.id !== id
      ? ' (it looks like ' + r.duplicate_of.person.name + ' too: check it is the right person)' : '') + '.');
    showPerson(id);
  } catch (e) { status(e.message, true); }
}

async function showPerson(id) {
  const box = $('person');
  try {
    const [p, faces] = await Promise.all([api('GET', '/v1/persons/' + id), api('GET', '/v1/persons/' + id + '/faces')]);
    const chips = el('div', { class: 'chips' });
    for (const f of faces.faces) if (f.has_chip) chips.append(await chip(f.face_id));
    const rows = Object.entries(p.attributes || {}).map(([k, v]) => el('tr', {}, el('td', {}, k), el('td', {}, typeof v === 'object' ? JSON.stringify(v) : v)));
    box.replaceChildren(el('h2', {}, p.name), chips,
      el('table', {}, el('tbody', {}, el('tr', {}, el('td', {}, 'external id'), el('td', {}, p.external_id || '—')),
        el('tr', {}, el('td', {}, 'faces'), el('td', {}, p.face_count)), ...rows)),
      el('p', { class: 'note-inline' }, faces.faces.length < 3
        ? 'Two or three photos recognise a person best (different days, the light of this desk).' : ''),
      el('div', { class: 'actions' },
        el('button', { class: 'primary', 'data-add-capture': id, onclick: async () => addPhoto(id, await grab()) }, 'Add the camera\'s photo'),
        el('label', { class: 'button secondary' }, 'Add a photo file',
          el('input', { type: 'file', accept: 'image/*', hidden: true, 'data-add-file': id,
            onchange: (ev) => { if (ev.target.files[0]) addPhoto(id, ev.target.files[0]); } })),
        el('button', { class: 'danger', onclick: async () => {
          if (!confirm('Erase ' + p.name + ' with their faces and visits?')) return;
          try { await api('DELETE', '/v1/persons/' + id); box.hidden = true; status(p.name + ' was erased.'); loadVisits(); } catch (e) { status(e.message, true); }
        } }, 'Delete (erase)'),
        el('button', { class: 'secondary', onclick: () => { box.hidden = true; } }, 'Close')));
    box.hidden = false;
    box.scrollIntoView({ behavior: 'smooth' });
  } catch (e) { status(e.message, true); }
}

if (state.key) signIn(state.key).catch((e) => signOut(e.message));
else showSignup();
