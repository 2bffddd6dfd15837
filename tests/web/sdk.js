// tests/web/sdk.js — the browser SDK in a real browser (Debian's chromium, headless, through playwright-core),
// with a fake camera fed from a test photo; one browser per camera scene:
//   1. a shop's own page (another origin) includes /sdk/v1/dejaview.js with a publishable key: an enrolled visitor
//      is greeted without any click; with that key, listing and erasing people is 403; from an origin not on the
//      key's list the browser blocks the request (CORS); past rate_per_minute, 429 with Retry-After;
//   2. a stranger: the enrolment form, and his enrolment with the face the recognition saw (?event_id=);
//   3. an empty scene for 30 s: no recognition is sent (the server's count);
//   4. a shop signs up on the front-desk page (invitation code), captures a stranger, enrols, is recalled.
// Prints TAP.
// usage: node sdk.js DV_URL OPS_URL PKEY LKEY SITE_PORT OTHER_PORT SHELDON_ID INVITE SHELDON.y4m LEONARD.y4m EMPTY.y4m SHOTS
const { chromium } = require('playwright-core');

// numbering goes on from the shell's checks (TAP_START of them)
let n = Number(process.env.TAP_START || 0), failed = 0;
const ok = (cond, name) => { n++; if (!cond) failed++; console.log(`${cond ? 'ok' : 'not ok'} ${n} - ${name}`); };
const [dv, ops, pkey, lkey, sitePort, otherPort, sheldon, invite, camSheldon, camLeonard, camEmpty, shots] = process.argv.slice(2);
const site = `http://127.0.0.1:${sitePort}`, other = `http://127.0.0.1:${otherPort}`;
const T = { timeout: 120000 }; // a guard against a hang, not a statement about speed

const recognitions = async () => {
  const t = await (await fetch(`${ops}/metrics`)).text();
  return t.split('\n').filter((l) => l.startsWith('dv_requests_total{route="recognize"')).reduce((s, l) => s + Number(l.split(' ').pop()), 0);
};

async function browserWith(y4m) {
  const b = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--use-fake-ui-for-media-stream',
      '--use-fake-device-for-media-stream', `--use-file-for-fake-video-capture=${y4m}`],
  });
  const context = await b.newContext({ viewport: { width: 800, height: 900 } });
  for (const origin of [site, other, dv]) await context.grantPermissions(['camera'], { origin });
  return { b, context };
}

const step = async (name, fn) => {
  try { await fn(); } catch (e) { ok(false, `${name}: ${e.message.split('\n')[0]}`); }
};

(async () => {
  // ---- 1. the enrolled visitor on the shop's own site
  {
    const { b, context } = await browserWith(camSheldon);
    const page = await context.newPage();
    const problems = [];
    page.on('pageerror', (e) => problems.push(e.message));
    await step('greeted without a click', async () => {
      await page.goto(`${site}/site.html?key=${pkey}`);
      await page.waitForFunction(() => /Sheldon/.test((document.querySelector('.dv-greeting') || {}).textContent || ''), null, T);
      ok(true, 'the shop\'s page (another origin) greets the enrolled visitor without any click: ' + await page.textContent('.dv-greeting'));
      await page.screenshot({ path: `${shots}/sdk-1-greeted.png` }).catch(() => {});
    });
    await step('what the publishable key may not do', async () => {
      const r = await page.evaluate(async ([server, key, id]) => {
        const h = { Authorization: 'Bearer ' + key };
        const del = await fetch(`${server}/v1/persons/${id}`, { method: 'DELETE', headers: h });
        const list = await fetch(`${server}/v1/persons`, { headers: h });
        return { del: del.status, delBody: await del.text(), list: list.status };
      }, [dv, pkey, sheldon]);
      ok(r.del === 403, `DELETE /v1/persons/{id} with the publishable key: ${r.del}`);
      ok(/persons:write/.test(r.delBody), '... naming the scope it needs');
      ok(r.list === 403, `GET /v1/persons with the publishable key: ${r.list}`);
    });
    await step('rate limit', async () => {
      const r = await page.evaluate(async ([server, key]) => {
        const out = [];
        for (let i = 0; i < 4; i++) {
          const res = await fetch(`${server}/v1/detect`, { method: 'POST', headers: { Authorization: 'Bearer ' + key, 'Content-Type': 'image/jpeg' }, body: new Blob([new Uint8Array([1, 2, 3])]) });
          out.push([res.status, res.headers.get('Retry-After')]);
        }
        return out;
      }, [dv, lkey]);
      ok(r[3][0] === 429, `past rate_per_minute (3): the 4th request is ${r[3][0]}`);
      ok(Number(r[3][1]) >= 1, `... with Retry-After: ${r[3][1]}`);
    });
    await step('another origin', async () => {
      const p2 = await context.newPage();
      await p2.goto(`${other}/site.html?nodesk=1&key=${pkey}`);
      const r = await p2.evaluate(async ([server, key]) => {
        try {
          await fetch(`${server}/v1/recognize`, { method: 'POST', headers: { Authorization: 'Bearer ' + key, 'Content-Type': 'image/jpeg' }, body: new Blob([new Uint8Array([1])]) });
          return 'sent and read';
        } catch (e) { return 'blocked: ' + e.message; }
      }, [dv, pkey]);
      ok(/^blocked/.test(r), 'from an origin not on the key\'s list the browser blocks the request (CORS): ' + r);
    });
    ok(problems.length === 0, 'no script errors on the shop\'s page' + (problems.length ? ': ' + problems.join('; ') : ''));
    await b.close();
  }
  // ---- 2. a stranger
  {
    const { b, context } = await browserWith(camLeonard);
    const page = await context.newPage();
    const posts = [];
    page.on('request', (r) => { if (r.method() === 'POST') posts.push(r.url()); });
    await step('a stranger is offered enrolment', async () => {
      await page.goto(`${site}/site.html?key=${pkey}`);
      await page.waitForSelector('.dv-enrol', T);
      ok(true, 'a stranger: the enrolment form appears, without any click');
      await page.screenshot({ path: `${shots}/sdk-2-stranger.png` }).catch(() => {});
    });
    await step('the stranger enrols', async () => {
      await page.fill('.dv-enrol input[name=name]', 'Leonard');
      await page.click('.dv-enrol button[type=submit]');
      await page.waitForFunction(() => /Nice to meet you, Leonard/.test(document.querySelector('.dv-greeting').textContent), null, T);
      ok(true, 'the form enrols him: ' + await page.textContent('.dv-greeting'));
      const faces = posts.filter((u) => /\/v1\/persons\/\d+\/faces/.test(u));
      ok(faces.length === 1 && /[?&]event_id=\d+/.test(faces[0]),
        'with the face the recognition saw (?event_id=), not a second capture: ' + faces.join(' '));
    });
    await b.close();
  }
  // ---- 3. an empty scene: nothing recognised
  {
    const { b, context } = await browserWith(camEmpty);
    const page = await context.newPage();
    await step('an empty scene', async () => {
      await page.goto(`${site}/site.html?key=${pkey}`);
      await page.waitForFunction(() => window.desk && window.desk.stats, null, T);
      const before = await recognitions();
      await page.waitForTimeout(30000); // the scene stays empty for 30 s (what is counted does not depend on speed)
      const after = await recognitions();
      const stats = await page.evaluate(() => window.desk.stats);
      ok(after === before, `30 s of an empty scene: ${after - before} recognition requests (the server's count)`);
      ok(stats.looks <= 3, `... and ${stats.looks} detections, ${stats.skippedStill} looks skipped as the scene was still`);
    });
    await b.close();
  }
  // ---- 4. a shop signs up on the front-desk page
  {
    const { b, context } = await browserWith(camLeonard);
    const page = await context.newPage();
    await step('sign-up', async () => {
      await page.goto(dv);
      await page.waitForSelector('#signup:not([hidden])', T);
      await page.click('#signup summary');
      await page.fill('#signup-shop', 'Corner Bakery');
      await page.fill('#signup-invitation', invite);
      await page.click('#signup-form button');
      await page.waitForSelector('#desk:not([hidden])', T);
      ok(/Corner Bakery/.test(await page.textContent('#tenant')), 'a new shop from the web page, signed in');
      ok(/dvk_/.test(await page.textContent('#signup-key')), '... its key shown once');
      await page.waitForSelector('#capture:not([disabled])', T);
      // the camera's first frame has arrived (a capture before it would be a black picture)
      await page.waitForFunction(() => document.getElementById('video').videoWidth > 0, null, T);
      await page.click('#capture');
      await page.waitForSelector('#enrol:not([hidden])', T);
      ok(true, 'capture: unknown, the enrolment form');
      await page.fill('#enrol-name', 'Leonard');
      await page.click('#enrol-submit');
      await page.waitForFunction(() => /Enrolled Leonard/.test(document.getElementById('status').textContent), null, T);
      await page.click('#capture');
      await page.waitForSelector('.face.known .name', T);
      ok(/Leonard/.test(await page.textContent('.face.known .name')), 'the next capture recalls him');
      await page.screenshot({ path: `${shots}/sdk-4-signup.png`, fullPage: true }).catch(() => {});
    });
    await b.close();
  }
  console.log(`1..${n}`);
  process.exit(failed ? 1 : 0);
})().catch((e) => { console.log(`not ok ${n + 1} - the browser test crashed: ${e.message}`); console.log(`1..${n + 1}`); process.exit(1); });
