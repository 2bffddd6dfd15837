// hooks.js — the hooks page: the tenant's stored Lua hooks (GET/PUT /v1/hooks...), an editor with line numbers,
// "Test with the last visit" (a dry run: nothing is kept), "Save and activate", the version history with a diff
// against the active version, and rollback. Errors are marked at their line. No framework, no build step; the key
// is the one the front desk keeps in this tab's session storage.
'use strict';

const $ = (id) => document.getElementById(id);
const state = { key: sessionStorage.getItem('dvKey') || '', name: '', active: null, versions: [] };

async function api(method, path, body, type) {
  const headers = { Authorization: 'Bearer ' + state.key };
  if (type) headers['Content-Type'] = type;
  let res;
  try {
    res = await fetch(path, { method, headers, body });
  } catch (e) {
    throw new Error('The server cannot be reached. Check the network.');
  }
  let j = null;
  try { j = await res.json(); } catch (e) { /* not JSON */ }
  if (res.ok) return j;
  const e = (j && j.error) || {};
  const err = new Error(e.message || 'Something went wrong (' + res.status + ').');
  err.code = e.code;
  err.line = e.line;
  err.status = res.status;
  if (e.code === 'unauthorized') { sessionStorage.removeItem('dvKey'); show(false); }
  throw err;
}

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'onclick') e.addEventListener('click', v);
    else if (v !== undefined && v !== null) e.setAttribute(k, v);
  }
  for (const k of kids) if (k !== null && k !== undefined) e.append(k instanceof Node ? k : String(k));
  return e;
}

function status(text, bad) {
  $('edit-status').textContent = text || '';
  $('edit-status').classList.toggle('error', !!bad);
}

function show(signedIn) {
  $('nokey').hidden = signedIn;
  $('hooks').hidden = !signedIn;
}

// ---------------------------------------------------------------- the editor's gutter

function gutter(badLine) {
  const n = $('source').value.split('\n').length;
  const g = $('gutter');
  g.textContent = '';
  for (let i = 1; i <= n; i++) g.append(el('span', i === badLine ? { class: 'bad', 'data-line': i } : { 'data-line': i }, i));
  g.scrollTop = $('source').scrollTop;
}

function markError(err) {
  const box = $('edit-error');
  if (!err) { box.hidden = true; box.textContent = ''; gutter(0); return; }
  box.hidden = false;
  box.textContent = (err.line ? 'Line ' + err.line + ': ' : '') + err.message;
  gutter(err.line || 0);
  if (err.line) {
    // put the cursor at the start of the line with the error
    const lines = $('source').value.split('\n');
    const at = lines.slice(0, err.line - 1).reduce((s, l) => s + l.length + 1, 0);
    $('source').focus();
    $('source').setSelectionRange(at, at + (lines[err.line - 1] || '').length);
  }
}

$('source').addEventListener('input', () => gutter(0));
$('source').addEventListener('scroll', () => { $('gutter').scrollTop = $('source').scrollTop; });
$('source').addEventListener('keydown', (ev) => {
  if (ev.key !== 'Tab') return;
  ev.preventDefault();
  const t = ev.target, s = t.selectionStart;
  t.setRangeText('  ', s, t.selectionEnd, 'end');
  gutter(0);
});

// ---------------------------------------------------------------- the list

async function loadList() {
  const r = await api('GET', '/v1/hooks');
  const ul = $('hook-list');
  ul.textContent = '';
  for (const f of r.files || []) {
    ul.append(el('li', { class: f.replaced_by_stored ? 'off' : '' },
      el('span', {}, el('b', {}, f.name), ' — file ' + f.file + ' (the server\'s configuration, read-only)' +
        (f.replaced_by_stored ? '; replaced by your stored hook' : ''))));
  }
  for (const h of r.hooks) {
    const on = h.active_version !== null;
    ul.append(el('li', { class: on ? '' : 'off', 'data-hook': h.name },
      el('span', {}, el('b', {}, h.name), ' ', el('span', { class: 'tag' }, on ? 'v' + h.active_version : 'off'), ' ',
        (h.functions || []).join(', '), el('span', { class: 'muted' }, ' — ' + (h.updated_by.name || '?') + ', ' +
          new Date(h.updated_at).toLocaleString())),
      el('button', { class: 'link', onclick: () => openHook(h.name) }, 'edit')));
  }
  if (!r.hooks.length && !(r.files || []).length) ul.append(el('li', { class: 'off' }, 'No hooks yet: create one below.'));
}

async function loadCatalogue() {
  try {
    const c = await api('GET', '/v1/catalogue/hooks');
    for (const h of c.hooks) $('new-from').append(el('option', { value: h.from }, h.from.replace('builtin:', 'copy of ') + ' — ' + h.about));
  } catch (e) { /* the list still works */ }
}

$('new-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const name = $('new-name').value.trim();
  const from = $('new-from').value;
  if (from) {
    try {
      await api('POST', '/v1/hooks/' + name + '/install', JSON.stringify({ from, activate: false }), 'application/json');
    } catch (e) { status(e.message, true); return; }
    await loadList();
    await openHook(name);
    return;
  }
  state.name = name;
  state.active = null;
  state.versions = [];
  $('edit').hidden = false;
  $('history').hidden = true;
  $('edit-name').textContent = name;
  $('edit-version').textContent = 'new';
  $('source').value = '-- ' + name + ': runs for every face of a recognition\nfunction on_recognized(ev)\n  return {greeting = "Hello " .. ev.person.name}\nend\n';
  markError(null);
  status('');
  $('test-output').hidden = true;
});

// ---------------------------------------------------------------- one hook

async function openHook(name) {
  state.name = name;
  $('edit').hidden = false;
  $('edit-name').textContent = name;
  markError(null);
  status('');
  $('test-output').hidden = true;
  const v = await api('GET', '/v1/hooks/' + name + '/versions');
  state.active = v.active_version;
  state.versions = v.versions;
  // the active version, else the newest
  const pick = v.versions.find((x) => x.version === v.active_version) || v.versions[0];
  if (pick) {
    const one = await api('GET', '/v1/hooks/' + name + '/versions/' + pick.version);
    $('source').value = one.source;
    $('edit-version').textContent = 'v' + pick.version + (pick.version === v.active_version ? ' (active)' : ' (not active)');
  }
  gutter(0);
  renderHistory();
}

function renderHistory() {
  const ul = $('versions');
  ul.textContent = '';
  $('diff').hidden = true;
  $('history').hidden = !state.versions.length;
  for (const v of state.versions) {
    const active = v.version === state.active;
    ul.append(el('li', { 'data-version': v.version },
      el('span', {}, el('b', {}, 'v' + v.version), active ? ' (active) ' : ' ', el('span', { class: 'muted' },
        (v.author.name || '?') + ', ' + new Date(v.created_at).toLocaleString() + (v.comment ? ' — ' + v.comment : ''))),
      el('span', {},
        el('button', { class: 'link diff-button', onclick: () => showDiff(v.version) }, 'diff'),
        active ? null : el('button', { class: 'link activate-button', onclick: () => activate(v.version) }, 'activate'))));
  }
}

// A line diff (longest common subsequence) of a against b.
function lineDiff(a, b) {
  const x = a.split('\n'), y = b.split('\n');
  const m = x.length, n = y.length;
  const L = Array.from({ length: m + 1 }, () => new Uint32Array(n + 1));
  for (let i = m - 1; i >= 0; i--) for (let j = n - 1; j >= 0; j--) L[i][j] = x[i] === y[j] ? L[i + 1][j + 1] + 1 : Math.max(L[i + 1][j], L[i][j + 1]);
  const out = [];
  let i = 0, j = 0;
  while (i < m && j < n) {
    if (x[i] === y[j]) { out.push([' ', x[i]]); i++; j++; } else if (L[i + 1][j] >= L[i][j + 1]) out.push(['-', x[i++]]); else out.push(['+', y[j++]]);
  }
  while (i < m) out.push(['-', x[i++]]);
  while (j < n) out.push(['+', y[j++]]);
  return out;
}

async function showDiff(version) {
  const base = state.active && state.active !== version ? state.active
    : (state.versions.find((v) => v.version < version) || {}).version;
  const box = $('diff');
  box.textContent = '';
  box.hidden = false;
  const them = await api('GET', '/v1/hooks/' + state.name + '/versions/' + version);
  if (!base) { box.append(el('span', { class: 'add' }, them.source)); return; }
  const from = await api('GET', '/v1/hooks/' + state.name + '/versions/' + base);
  box.append(el('span', { class: 'muted' }, 'v' + base + ' → v' + version + '\n'));
  for (const [k, line] of lineDiff(from.source, them.source)) {
    box.append(k === ' ' ? document.createTextNode('  ' + line + '\n') : el('span', { class: k === '+' ? 'add' : 'del' }, k + ' ' + line));
  }
}

async function activate(version) {
  try {
    await api('POST', '/v1/hooks/' + state.name + '/activate', JSON.stringify({ version }), 'application/json');
    await loadList();
    await openHook(state.name);
    status('Version ' + version + ' of ' + state.name + ' is active (on every server within a moment).');
  } catch (e) { status(e.message, true); }
}

async function save(activateIt) {
  markError(null);
  const q = '?activate=' + activateIt + ($('comment').value ? '&comment=' + encodeURIComponent($('comment').value) : '');
  try {
    const r = await api('PUT', '/v1/hooks/' + state.name + q, $('source').value, 'text/x-lua');
    $('comment').value = '';
    await loadList();
    await openHook(state.name);
    status(activateIt ? 'Saved: ' + state.name + ' version ' + r.version + ' is active.'
      : 'Saved: version ' + r.version + ' (version ' + (r.active_version || 'none') + ' stays active).');
  } catch (e) {
    if (e.code === 'invalid_hook') { markError(e); status('Not saved: the hook has an error. The active version is unchanged.', true); } else status(e.message, true);
  }
}

$('save').addEventListener('click', () => save(true));
$('stage').addEventListener('click', () => save(false));
$('remove').addEventListener('click', async () => {
  if (!confirm('Deactivate ' + state.name + '? Its versions are kept.')) return;
  try {
    await api('DELETE', '/v1/hooks/' + state.name);
    await loadList();
    await openHook(state.name);
    status(state.name + ' is deactivated.');
  } catch (e) { status(e.message, true); }
});

$('test').addEventListener('click', async () => {
  markError(null);
  const out = $('test-output');
  out.hidden = false;
  out.textContent = 'Testing…';
  let r;
  try {
    r = await api('POST', '/v1/hooks/' + state.name + '/test', JSON.stringify({ source: $('source').value, event: 'last' }), 'application/json');
  } catch (e) {
    out.textContent = e.code === 'not_found' ? 'No visit to test with yet: recognise someone on the front desk first.' : e.message;
    return;
  }
  out.textContent = '';
  if (!r.ok) {
    markError({ line: r.error.line, message: r.error.message });
    out.append(el('p', { class: 'error' }, 'The hook failed on the ' + r.event + ' event.'));
  } else if (!r.ran) {
    out.append(el('p', {}, 'The last visit was "' + r.event + '": this hook has no on_' + r.event + '.'));
  } else {
    out.append(el('p', {}, 'On the last visit (' + r.event + ') it returns:'), el('pre', { id: 'test-result' }, JSON.stringify(r.output, null, 2)));
  }
  if (r.writes.length) out.append(el('p', {}, 'It would write (nothing was kept):'), el('pre', {}, r.writes.map((w) => w.op + ' ' + w.ns + '.' + w.key + ' of person ' + w.person + ' = ' + JSON.stringify(w.value)).join('\n')));
  if (r.log.length) out.append(el('p', {}, 'It logs:'), el('pre', {}, r.log.join('\n')));
  out.append(el('p', { class: 'muted' }, r.instructions + ' Lua instructions, ' + r.time_ms.toFixed(2) + ' ms.'));
});

// ---------------------------------------------------------------- start

(async () => {
  show(!!state.key);
  if (!state.key) return;
  try {
    await loadList();
    await loadCatalogue();
  } catch (e) { status(e.message, true); }
})();
