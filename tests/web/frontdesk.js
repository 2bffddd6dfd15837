// tests/web/frontdesk.js — the front-desk page in a real browser (Debian's chromium, headless, driven through the
// DevTools protocol by playwright-core), with a fake camera fed from a test photo: sign in, capture an unknown
// face, enrol it, capture again and see the name and the loyalty visit; upload a photo; today's visits; a
// person's page; an error in plain words. Prints TAP. Screenshots go to SHOTS_DIR.
// usage: node frontdesk.js URL API_KEY CAMERA.y4m PHOTO SHOTS_DIR
const { chromium } = require('playwright-core');

let n = 0, failed = 0;
const ok = (cond, name) => { n++; if (!cond) failed++; console.log(`${cond ? 'ok' : 'not ok'} ${n} - ${name}`); };

(async () => {
  const [url, key, y4m, photo, shots] = process.argv.slice(2);
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--use-fake-ui-for-media-stream',
      '--use-fake-device-for-media-stream', `--use-file-for-fake-video-capture=${y4m}`],
  });
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 1 });
  await context.grantPermissions(['camera'], { origin: url });
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(e.message));
  // the wrong-key step is meant to get a 401; any other failed load or script error is a problem
  page.on('console', (m) => { if (m.type() === 'error' && !/status of 401/.test(m.text())) problems.push(m.text()); });
  // each screenshot twice: as is (a test artifact), and with every face blurred away (docs/screenshots: the
  // test photos are for evaluation only and never go into the project)
  const shot = async (name) => {
    await page.screenshot({ path: `${shots}/${name}.png`, fullPage: true });
    const blur = (on) => page.evaluate((v) => {
      for (const e of document.querySelectorAll('video, .face img, .chips img')) e.style.filter = v ? 'blur(28px) grayscale(1)' : '';
    }, on);
    await blur(true);
    await page.screenshot({ path: `${shots}/blurred-${name}.png`, fullPage: true });
    await blur(false);
  };
  const step = async (name, fn) => {
    try { await fn(); } catch (e) { ok(false, `${name}: ${e.message.split('\n')[0]}`); await shot('failed-' + n).catch(() => {}); }
  };
  const T = { timeout: 120000 }; // a guard against a hang, not a statement about speed

  const head = await page.request.get(url);
  ok((head.headers()['content-security-policy'] || '').startsWith("default-src 'self'"), 'the page is served with a strict content security policy');
  await page.goto(url);
  await step('the page loads with its sign-in form', async () => {
    await page.waitForSelector('#signin-form', T);
    ok(true, 'the page loads with its sign-in form');
    await shot('1-sign-in');
  });
  await step('a wrong key is refused in plain words', async () => {
    await page.fill('#key', 'dvk_0000000000000000000000000000000000000000000000000000');
    await page.click('#signin-form button');
    await page.waitForSelector('#signin-error:not([hidden])', T);
    const t = await page.textContent('#signin-error');
    ok(/not valid/.test(t), 'a wrong key is refused in plain words: ' + t);
  });
  await step('sign in', async () => {
    await page.fill('#key', key);
    await page.click('#signin-form button');
    await page.waitForSelector('#desk:not([hidden])', T);
    const stored = await page.evaluate(() => sessionStorage.getItem('dvKey'));
    ok(stored === key, 'signed in; the key is kept in session storage');
  });
  await step('the camera', async () => {
    await page.waitForSelector('#capture:not([disabled])', T);
    await page.waitForFunction(() => document.getElementById('video').videoWidth > 0, null, T);
    ok(true, 'the live camera preview runs (fake camera)');
    await shot('2-camera');
  });
  await step('capture an unknown face', async () => {
    await page.click('#capture');
    await page.waitForSelector('#enrol:not([hidden])', T);
    ok((await page.textContent('#enrol h2')).includes('New visitor'), 'an unknown face: "New visitor — enrol?"');
    ok(/register/i.test(await page.textContent('#result')), 'with what the front-desk hook says');
    await shot('3-unknown');
  });
  await step('enrol', async () => {
    const adds = [];
    const seen = (r) => { if (/\/v1\/persons\/\d+\/faces/.test(r.url()) && r.method() === 'POST') adds.push(r); };
    page.on('request', seen);
    await page.fill('#enrol-name', 'Ada Lovelace');
    await page.fill('#enrol-email', 'ada@example.org');
    await page.click('#enrol-submit');
    await page.waitForFunction(() => /Enrolled Ada Lovelace/.test(document.getElementById('status').textContent), null, T);
    page.off('request', seen);
    ok(true, 'enrolled from the captured frame');
    ok(adds.length === 1 && /[?&]event_id=\d+/.test(adds[0].url()) && !adds[0].postData(),
      'the face the recognition kept is added (event_id, no photo sent again): ' + adds.map((r) => r.url()).join(' '));
  });
  await step('capture again', async () => {
    await page.click('#capture');
    await page.waitForSelector('.face.known .name', T);
    ok((await page.textContent('.face.known .name')).includes('Ada Lovelace'), 'the next capture recalls her by name');
    ok(await page.isVisible('.face.known img'), 'with her stored face chip');
    ok(/Welcome/.test(await page.textContent('.face.known')), 'and the greeting of the hooks');
    const visit = await page.getAttribute('[data-visits]', 'data-visits');
    ok(Number(visit) >= 1, 'and the loyalty visit count (visit ' + visit + ')');
    await shot('4-recalled');
  });
  await step('zero-touch', async () => {
    await page.evaluate(() => { document.getElementById('result').hidden = true; document.getElementById('result').textContent = ''; });
    await page.check('#auto');
    await page.waitForFunction(() => /Ada Lovelace/.test(document.getElementById('result').textContent), null, T);
    ok(true, 'zero-touch: the front desk recalls her with no button pressed');
    await page.uncheck('#auto');
  });
  await step('upload a photo', async () => {
    await page.setInputFiles('#upload', photo);
    await page.waitForFunction(() => /Ada Lovelace/.test(document.getElementById('result').textContent), null, T);
    ok(true, 'an uploaded photo works too');
  });
  await step("today's visits", async () => {
    await page.click('#refresh');
    await page.waitForFunction(() => /Ada Lovelace/.test(document.getElementById('visits').textContent), null, T);
    ok(true, "today's visits list her");
    await page.waitForFunction(() => /enrolled\./.test(document.getElementById('opoint').textContent), null, T);
    const op = await page.textContent('#opoint');
    ok(/^1 (person|face) enrolled\. /.test(op), 'under them, the operating point: ' + op);
  });
  await step('the person page', async () => {
    await page.click('#visits button');
    await page.waitForSelector('#person:not([hidden]) h2', T);
    ok((await page.textContent('#person')).includes('ada@example.org'), "her page shows her attributes and faces");
    await shot('5-person');
  });
  await step('a second photo', async () => {
    const before = await page.$$eval('#person .chips img', (x) => x.length);
    await page.click('#person [data-add-capture]');
    await page.waitForFunction(() => /Photo added/.test(document.getElementById('status').textContent), null, T);
    await page.waitForFunction((n) => document.querySelectorAll('#person .chips img').length === n + 1, before, T);
    ok(true, 'the person page adds a second photo from the camera (' + before + ' -> ' + (before + 1) + ' chips)');
    await page.setInputFiles('#person [data-add-file]', photo);
    await page.waitForFunction((n) => document.querySelectorAll('#person .chips img').length === n + 2, before, T);
    ok(true, '... and a third from a file');
  });
  await step('delete erases', async () => {
    page.once('dialog', (d) => d.accept());
    await page.click('#person .danger');
    await page.waitForFunction(() => /was erased/.test(document.getElementById('status').textContent), null, T);
    await page.click('#capture');
    await page.waitForSelector('#enrol:not([hidden])', T);
    ok(true, 'after "Delete (erase)" she is a new visitor again');
  });
  ok(problems.length === 0, 'no script errors in the page' + (problems.length ? ': ' + problems.join('; ') : ''));
  await browser.close();
  console.log(`1..${n}`);
  process.exit(failed ? 1 : 0);
})().catch((e) => { console.log(`not ok ${n + 1} - the browser test crashed: ${e.message}`); console.log(`1..${n + 1}`); process.exit(1); });
