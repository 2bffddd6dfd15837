// tests/web/hooks.js — the hooks page in a real browser (Debian's chromium, headless, through playwright-core): sign
// in on the front desk, open "hooks", write a new hook with a syntax error and see it marked at its line, fix it,
// "Save and activate", recognise an uploaded photo on the front desk and see the hook's output, "Test with the last
// visit", save a second version, see its diff, roll back. Prints TAP. Screenshots go to SHOTS_DIR.
// usage: node hooks.js URL API_KEY PHOTO SHOTS_DIR
const { chromium } = require('playwright-core');

let n = 0, failed = 0;
const ok = (cond, name) => { n++; if (!cond) failed++; console.log(`${cond ? 'ok' : 'not ok'} ${n} - ${name}`); };

(async () => {
  const [url, key, photo, shots] = process.argv.slice(2);
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 }, deviceScaleFactor: 1 });
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(e.message));
  // the syntax-error step is meant to get a 422; any other failed load or script error is a problem
  page.on('console', (m) => { if (m.type() === 'error' && !/status of 422/.test(m.text())) problems.push(m.text()); });
  const shot = (name) => page.screenshot({ path: `${shots}/hooks-${name}.png`, fullPage: true });
  const step = async (name, fn) => {
    try { await fn(); } catch (e) { ok(false, `${name}: ${e.message.split('\n')[0]}`); await shot('failed-' + n).catch(() => {}); }
  };
  const T = { timeout: 120000 }; // a guard against a hang, not a statement about speed
  const setSource = (text) => page.fill('#source', text);

  await page.goto(url);
  await step('sign in on the front desk', async () => {
    await page.fill('#key', key);
    await page.click('#signin-form button');
    await page.waitForSelector('#desk:not([hidden])', T);
    ok(true, 'signed in on the front desk');
  });
  await step('open the hooks page', async () => {
    await page.click('#to-hooks');
    await page.waitForSelector('#hooks:not([hidden])', T);
    await page.waitForFunction(() => /frontdesk/.test(document.getElementById('hook-list').textContent), null, T);
    ok(true, "the hooks page lists the configuration's hook files");
  });
  await step('a new hook with a syntax error', async () => {
    await page.fill('#new-name', 'greet');
    await page.click('#new-form button');
    await page.waitForSelector('#edit:not([hidden])', T);
    ok((await page.textContent('#gutter')).startsWith('12'), 'the editor has line numbers');
    await setSource('-- greet\nfunction on_recognized(ev)\n  return {greeting = "Good to see you, " .. }\nend\nfunction on_unknown(ev)\n  return {greeting = "Hooks page says hi"}\nend\n');
    await page.click('#save');
    await page.waitForSelector('#edit-error:not([hidden])', T);
    const msg = await page.textContent('#edit-error');
    ok(/^Line 3: /.test(msg), 'Save: the error is shown with its line: ' + msg);
    ok(await page.isVisible('#gutter .bad[data-line="3"]'), 'and line 3 is marked in the gutter');
    await shot('1-syntax-error');
  });
  await step('fix it, save and activate', async () => {
    await setSource('-- greet\nfunction on_recognized(ev)\n  return {greeting = "Good to see you, " .. ev.person.name}\nend\nfunction on_unknown(ev)\n  return {greeting = "Hooks page says hi"}\nend\n');
    await page.fill('#comment', 'first version');
    await page.click('#save');
    await page.waitForFunction(() => /version 1 is active/.test(document.getElementById('edit-status').textContent), null, T);
    ok(!(await page.isVisible('#gutter .bad')), 'fixed: saved as version 1, active, no line marked');
    ok(/greet/.test(await page.textContent('#hook-list')), 'the list shows greet');
  });
  await step('a recognition through the page shows the new output', async () => {
    await page.click('#to-desk');
    await page.waitForSelector('#desk:not([hidden])', T);
    await page.setInputFiles('#upload', photo);
    await page.waitForFunction(() => /Hooks page says hi/.test(document.getElementById('result').textContent), null, T);
    ok(true, "the front desk shows the new hook's greeting for the uploaded photo");
    await shot('2-front-desk');
  });
  await step('test with the last visit', async () => {
    await page.click('#to-hooks');
    await page.waitForSelector('#hook-list li[data-hook="greet"] button', T);
    await page.click('#hook-list li[data-hook="greet"] button');
    await page.waitForFunction(() => /Hooks page says hi/.test(document.getElementById('source').value), null, T);
    await page.click('#test');
    await page.waitForSelector('#test-result', T);
    ok(/Hooks page says hi/.test(await page.textContent('#test-result')), 'a dry run on the last visit returns the greeting');
    ok(/Lua instructions/.test(await page.textContent('#test-output')), 'with the instructions it used');
  });
  await step('a second version, its diff, and rollback', async () => {
    await setSource('-- greet\nfunction on_recognized(ev)\n  return {greeting = "Good to see you, " .. ev.person.name}\nend\nfunction on_unknown(ev)\n  return {greeting = "Version two says hi"}\nend\n');
    await page.click('#save');
    await page.waitForFunction(() => /version 2 is active/.test(document.getElementById('edit-status').textContent), null, T);
    ok((await page.$$('#versions li')).length === 2, 'the history lists two versions');
    await page.click('#versions li[data-version="1"] .diff-button');
    await page.waitForSelector('#diff .add', T);
    const diff = await page.textContent('#diff');
    ok(/- +return \{greeting = "Version two says hi"\}/.test(diff) || /\+ +return \{greeting = "Hooks page says hi"\}/.test(diff),
      'the diff shows the changed line');
    await shot('3-diff');
    await page.click('#versions li[data-version="1"] .activate-button');
    await page.waitForFunction(() => /Version 1 of greet is active/.test(document.getElementById('edit-status').textContent), null, T);
    ok(/Hooks page says hi/.test(await page.inputValue('#source')), 'rolled back: version 1 is active and in the editor');
    await page.click('#to-desk');
    await page.setInputFiles('#upload', photo);
    await page.waitForFunction(() => /Hooks page says hi/.test(document.getElementById('result').textContent), null, T);
    ok(true, "the front desk shows version 1's greeting again");
  });
  ok(problems.length === 0, 'no script errors in the pages' + (problems.length ? ': ' + problems.join('; ') : ''));
  await browser.close();
  console.log(`1..${n}`);
  process.exit(failed ? 1 : 0);
})().catch((e) => { console.log(`not ok ${n + 1} - the browser test crashed: ${e.message}`); console.log(`1..${n + 1}`); process.exit(1); });
