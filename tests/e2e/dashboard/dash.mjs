// The dashboard in headless Chromium (tests/e2e/t42-dashboard.sh runs it):
// Debian's /usr/bin/chromium driven by playwright-core (package-lock.json
// here; scripts/install-deps browser).  One step per argument-selected
// phase; prints one JSON document of what it saw and measured on stdout;
// exits non-zero with one line on stderr when a step fails.
//
//   node dash.mjs main URL TOKEN SHOTS_DIR VOLUME REPO
//       first load (sizes, Navigation Timing), sign in (a wrong token
//       first), create policy web1, run it, watch its job finish live,
//       its log; the same page on a narrow screen
//   node dash.mjs measure URL - - N
//       N first loads, each in a fresh context (empty cache) of one
//       browser: their Navigation Timing (bench/dashboard.sh)
//   node dash.mjs files URL TOKEN SHOTS_DIR POLICY BACKUP FILE_PATH FILE_DEST
//       browse the backup's catalog to FILE_PATH and restore it to
//       FILE_DEST (the caller compares the bytes)
import { chromium } from 'playwright-core';

const [mode, url, token, shots, ...rest] = process.argv.slice(2);
const out = { steps: [] };
const T = 60000;

function step(name) { out.steps.push(name); process.stderr.write('# browser: ' + name + '\n'); }

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  // As root in a container Chromium's sandbox cannot start.
  args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
});

async function signIn(page, tok) {
  await page.waitForSelector('#login:not([hidden])', { timeout: T });
  await page.fill('#token', tok);
  await page.click('#login-form button[type=submit]');
}

async function main() {
  const [volume, repo] = rest;
  // ---- wide: first load, sign in, policy, run, live job, files ----
  const wide = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  const page = await wide.newPage();
  const consoleErrors = [];
  // The browser logs each 4xx answer (the bad token, the bad policy on
  // purpose); anything else said in red is the page's own fault.
  page.on('console', (m) => {
    if (m.type() === 'error' && !/^Failed to load resource: the server responded with a status of 4/.test(m.text()))
      consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  const eventStreams = [];
  let allEvents = 0;
  page.on('request', (r) => {
    if (/\/api\/v1\/jobs\/\d+\/events/.test(r.url())) eventStreams.push(r.url());
    if (/\/api\/v1\/events$/.test(r.url())) allEvents++;
  });

  step('first load');
  await page.goto(url, { waitUntil: 'load' });
  out.load = await page.evaluate(() => {
    const nav = performance.getEntriesByType('navigation')[0];
    const res = performance.getEntriesByType('resource').filter((r) => !r.name.includes('/api/'));
    const bytes = [nav, ...res].reduce((a, r) => a + (r.encodedBodySize || 0), 0);
    return { load_ms: nav.loadEventEnd - nav.startTime, dom_ms: nav.domContentLoadedEventEnd - nav.startTime,
      bytes, files: 1 + res.length };
  });

  // The same first load again in a fresh context (an empty cache) of the
  // running browser: the first one also paid for starting its renderer.
  {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    const p2 = await ctx.newPage();
    await p2.goto(url, { waitUntil: 'load' });
    out.load_again = await p2.evaluate(() => {
      const nav = performance.getEntriesByType('navigation')[0];
      return { load_ms: nav.loadEventEnd - nav.startTime, dom_ms: nav.domContentLoadedEventEnd - nav.startTime,
        response_end_ms: nav.responseEnd - nav.startTime };
    });
    await ctx.close();
  }

  step('a wrong token is refused with the API\'s message');
  await signIn(page, 'cairn_not-a-real-token');
  await page.waitForSelector('#login-err:not([hidden])', { timeout: T });
  out.bad_token_message = (await page.textContent('#login-err')).trim();

  step('sign in');
  await page.fill('#token', token);
  await page.click('#login-form button[type=submit]');
  await page.waitForSelector('#v-policies:not([hidden])', { timeout: T });
  out.token_in_session_storage = await page.evaluate(() => !!sessionStorage.getItem('cairn.token'));
  out.token_in_local_storage = await page.evaluate(() => localStorage.length > 0);

  step('a bad policy shows the API\'s error');
  await page.click('#new-policy summary');
  await page.fill('#policy-form [name=name]', 'web1');
  await page.fill('#policy-form [name=volume]', volume);
  await page.fill('#policy-form [name=repo]', repo);
  await page.fill('#policy-form [name=every]', 'soon');
  await page.click('#policy-form button[type=submit]');
  await page.waitForSelector('#msg:not([hidden])', { timeout: T });
  out.bad_policy_message = (await page.textContent('#msg span')).trim();

  step('create a policy');
  // A cron line that is not due for months: the only run is Run now's.
  await page.fill('#policy-form [name=every]', '0 0 1 1 *');
  await page.selectOption('#policy-form [name=snapshot]', 'none');
  await page.click('#policy-form button[type=submit]');
  await page.waitForSelector('tr[data-policy="web1"]', { timeout: T });
  await page.screenshot({ path: shots + '/dashboard-wide-policies.png', fullPage: true });

  step('run it now and watch the job');
  await page.click('tr[data-policy="web1"] button[data-act=run]');
  await page.waitForSelector('#v-jobs:not([hidden])', { timeout: T });
  const seen = new Set();
  let shotActive = false, job = null;
  const t0 = Date.now();
  for (;;) {
    const rows = await page.$$eval('#jobs tbody tr', (trs) => trs.map((tr) => ({
      id: tr.dataset.job, state: tr.querySelector('.badge.state')?.textContent,
      progress: !!tr.querySelector('progress'), policy: tr.children[2]?.textContent })));
    const mine = rows.filter((r) => r.policy === 'web1');
    for (const r of mine) seen.add(r.state + (r.progress ? '+bar' : ''));
    if (!shotActive && mine.some((r) => r.state === 'active')) {
      shotActive = true;
      await page.screenshot({ path: shots + '/dashboard-wide-job-running.png', fullPage: true });
    }
    const done = mine.find((r) => ['done', 'failed', 'canceled'].includes(r.state));
    if (done) { job = done; break; }
    if (Date.now() - t0 > 120000) throw new Error('the job did not finish in the page within 120 s: ' + JSON.stringify(rows));
    await page.waitForTimeout(100);
  }
  out.job = job;
  out.states_seen = [...seen];
  out.event_streams = eventStreams.length;
  out.all_event_streams = allEvents;
  await page.waitForFunction(() => /\(done|\(failed/.test(document.querySelector('#log-title')?.textContent || ''),
    null, { timeout: T }).catch(() => {});
  out.log_text = await page.textContent('#log');
  await page.screenshot({ path: shots + '/dashboard-wide-jobs.png', fullPage: true });

  step('restore points: the timeline, hold and release');
  await page.click('#nav button[data-view=policies]');
  await page.click('tr[data-policy="web1"] button:text("Restore points")');
  await page.waitForSelector('#timeline .dot, #timeline .err', { timeout: T });
  if (await page.$('#timeline .err')) throw new Error('timeline: ' + (await page.textContent('#timeline .err')));
  out.timeline_dots = (await page.$$('#timeline .dot')).length;
  await page.click('#timeline button:text("Hold")');
  await page.waitForSelector('#timeline .dot.held', { timeout: T });
  out.held_after_click = true;
  await page.screenshot({ path: shots + '/dashboard-wide-points.png', fullPage: true });
  await page.click('#timeline button:text("Release")');
  await page.waitForSelector('#timeline .dot:not(.held)', { timeout: T });
  out.released_after_click = true;
  out.console_errors = consoleErrors;

  // ---- narrow: a phone's width ----
  step('narrow screen');
  const narrow = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  const np = await narrow.newPage();
  await np.goto(url, { waitUntil: 'load' });
  await signIn(np, token);
  await np.waitForSelector('tr[data-policy="web1"]', { timeout: T });
  out.narrow_overflow_px = await np.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  // Every button of the policy's row within the screen, none behind a
  // sideways scroll.
  out.narrow_buttons_hidden = await np.$$eval('tr[data-policy="web1"] button', (bs) =>
    bs.filter((b) => { const r = b.getBoundingClientRect(); return r.right > window.innerWidth || r.width === 0; })
      .map((b) => b.textContent));
  await np.screenshot({ path: shots + '/dashboard-narrow-policies.png', fullPage: true });
  await np.click('#nav button[data-view=jobs]');
  await np.waitForSelector('#jobs tbody tr', { timeout: T });
  await np.screenshot({ path: shots + '/dashboard-narrow-jobs.png', fullPage: true });
  out.narrow_overflow_jobs_px = await np.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
}

async function files() {
  const [policy, backup, filePath, fileDest] = rest;
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 860 } })).newPage();
  const consoleErrors = [];
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  step('sign in');
  await page.goto(url, { waitUntil: 'load' });
  await signIn(page, token);
  await page.waitForSelector('#v-policies:not([hidden])', { timeout: T });
  step('open backup ' + backup + ' of policy ' + policy);
  await page.click('#nav button[data-view=files]');
  await page.waitForSelector(`#files-policy option[value="${policy}"]`, { state: 'attached', timeout: T });
  await page.selectOption('#files-policy', policy);
  await page.fill('#files-backup', backup);
  await page.click('#files-form button[type=submit]');
  const parts = filePath.split('/').filter(Boolean);
  for (let i = 0; i < parts.length; i++) {
    const last = i === parts.length - 1;
    const sel = `#files tbody tr.${last ? 'file' : 'dir'}[data-name="${parts[i]}"]`;
    step('browse to ' + parts.slice(0, i + 1).join('/'));
    await page.waitForSelector(`${sel}, #files tbody td.err`, { timeout: T });
    const err = await page.$('#files tbody td.err');
    if (err) throw new Error('file browser: ' + (await err.textContent()));
    if (!last) { await page.click(`${sel} td.name button`); continue; }
    await page.screenshot({ path: shots + '/dashboard-wide-files.png', fullPage: true });
    step('restore ' + filePath + ' to ' + fileDest);
    await page.click(`${sel} button[data-act=restore-file]`);
    await page.waitForSelector('#ask[open]', { timeout: T });
    await page.fill('#ask input[name=target]', fileDest);
    await page.click('#ask-ok');
    // The restore runs as a job; the page's message follows it to its end.
    await page.waitForSelector('#msg:not([hidden])', { timeout: T });
    out.restore_first_message = (await page.textContent('#msg span')).trim();
    await page.waitForFunction(() => {
      const t = document.querySelector('#msg:not([hidden]) span')?.textContent || '';
      return /^(Restored|Could not)/.test(t);
    }, null, { timeout: 120000 });
    out.restore_message = (await page.textContent('#msg span')).trim();
    if (!/^Restored/.test(out.restore_message)) throw new Error('restore: ' + out.restore_message);
  }
  out.console_errors = consoleErrors;
}

async function measure() {
  const n = Number(rest[0] || 10);
  out.loads = [];
  for (let i = 0; i < n; i++) {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    const page = await ctx.newPage();
    await page.goto(url, { waitUntil: 'load' });
    out.loads.push(await page.evaluate(() => {
      const nav = performance.getEntriesByType('navigation')[0];
      const res = performance.getEntriesByType('resource').filter((r) => !r.name.includes('/api/'));
      return { load_ms: nav.loadEventEnd - nav.startTime, response_end_ms: nav.responseEnd - nav.startTime,
        last_file_ms: Math.max(...res.map((r) => r.responseEnd)),
        bytes: [nav, ...res].reduce((a, r) => a + (r.encodedBodySize || 0), 0) };
    }));
    await ctx.close();
  }
}

try {
  if (mode === 'main') await main();
  else if (mode === 'measure') await measure();
  else if (mode === 'files') await files();
  else throw new Error('mode main or files, not ' + mode);
  process.stdout.write(JSON.stringify(out, null, 1) + '\n');
  await browser.close();
} catch (e) {
  process.stdout.write(JSON.stringify(out, null, 1) + '\n');
  process.stderr.write('browser: ' + (out.steps[out.steps.length - 1] || 'start') + ': ' +
    String(e && e.message || e).split('\n')[0] + '\n');
  await browser.close();
  process.exit(1);
}
