/* cairn's dashboard: plain JavaScript over the daemon's HTTP API
 * (docs/api.md).  No framework, no build step.  Everything the page shows
 * comes from /api/v1/ with the token the user typed (sessionStorage: this
 * tab only); text from the API is always set as text, never as HTML. */
'use strict';

const TOKEN_KEY = 'cairn.token';
const state = { view: 'policies', policies: [], jobs: [], streams: new Map(), all: null, noAll: false, logJob: null,
  files: null };

/* ---- small helpers ---- */

function $(sel, root) { return (root || document).querySelector(sel); }

/* el('td', {class: 'x', onclick: f}, 'text', child, ...) */
function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'class') e.className = v;
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const k of kids.flat()) {
    if (k === undefined || k === null || k === false) continue;
    e.append(k instanceof Node ? k : document.createTextNode(String(k)));
  }
  return e;
}

function button(label, onclick, cls, attrs) {
  return el('button', Object.assign({ type: 'button', class: cls, onclick }, attrs || {}), label);
}

function size(n) {
  if (n === null || n === undefined) return '';
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let i = 0, v = Number(n);
  while (v >= 1024 && i < u.length - 1) { v /= 1024; i++; }
  return (i ? v.toFixed(v < 10 ? 1 : 0) : v) + ' ' + u[i];
}

function when(t) {
  if (!t) return '';
  const d = new Date(t * 1000);
  return d.toLocaleString();
}

function ago(t) {
  if (!t) return 'never';
  const s = Math.max(0, Date.now() / 1000 - t);
  if (s < 90) return Math.round(s) + ' s ago';
  if (s < 5400) return Math.round(s / 60) + ' min ago';
  if (s < 172800) return Math.round(s / 3600) + ' h ago';
  return Math.round(s / 86400) + ' d ago';
}

function dur(s) {
  if (s === null || s === undefined) return '';
  if (s % 86400 === 0) return s / 86400 + 'd';
  if (s % 3600 === 0) return s / 3600 + 'h';
  if (s % 60 === 0) return s / 60 + 'm';
  return s + 's';
}

/* ---- messages: the API's own words, one line, dismissable ---- */

function say(text, info) {
  const m = $('#msg');
  m.replaceChildren(el('span', null, text), button('Dismiss', () => { m.hidden = true; }, 'link'));
  m.className = info ? 'info' : '';
  m.hidden = false;
  if (info) setTimeout(() => { if (m.textContent.startsWith(text)) m.hidden = true; }, 6000);
}

function fail(what, e) {
  say(what + ': ' + (e && e.message ? e.message : String(e)));
}

/* ---- the API ---- */

class ApiError extends Error {
  constructor(status, code, message) { super(message); this.status = status; this.code = code; }
}

function authHeaders() {
  const t = sessionStorage.getItem(TOKEN_KEY);
  return t ? { Authorization: 'Bearer ' + t } : {};
}

async function api(method, path, body) {
  const headers = authHeaders();
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store' });
  } catch (e) {
    throw new ApiError(0, 'unreachable', 'the daemon does not answer (is cairn daemon running?)');
  }
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
  if (!res.ok) {
    const err = data && data.error;
    let msg = err && err.message ? err.message : res.status + ' ' + res.statusText;
    /* A route this daemon does not have yet: say so plainly. */
    if (res.status === 404 && err && err.code === 'not_found' && /^no such resource/.test(msg))
      msg = 'this daemon has no ' + method + ' ' + path.split('?')[0] + ' (a newer cairn has it)';
    if (res.status === 401) showLogin(msg);
    throw new ApiError(res.status, err ? err.code : 'http_' + res.status, msg);
  }
  return data;
}

function q(params) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') u.set(k, v);
  const s = u.toString();
  return s ? '?' + s : '';
}

/* A policy's repository as the API names it: its URI percent-encoded as
 * one path segment, its credential in ?cred= (reads) or the body. */
function pol(name) {
  const p = state.policies.find((x) => x.name === name);
  if (!p) throw new ApiError(0, 'not_found', 'no policy ' + name + ' (reload the page)');
  return p;
}
function repoPath(name) { return '/api/v1/repositories/' + encodeURIComponent(pol(name).repo); }
function repoBody(name, rest) { const p = pol(name); return Object.assign({ repo: p.repo, cred: p.cred || undefined }, rest); }

/* The routes the dashboard uses (docs/api.md).  Restores, copies and
 * failover follow the resource list; a daemon without them says
 * so in the message (api() above). */
const routes = {
  status: () => api('GET', '/api/v1/status'),
  policies: () => api('GET', '/api/v1/policies'),
  createPolicy: (p) => api('POST', '/api/v1/policies', p),
  deletePolicy: (n) => api('DELETE', '/api/v1/policies/' + encodeURIComponent(n)),
  runPolicy: (n) => api('POST', '/api/v1/policies/' + encodeURIComponent(n) + '/run'),
  pausePolicy: (n, pause) => api('POST', '/api/v1/policies/' + encodeURIComponent(n) + (pause ? '/pause' : '/resume')),
  jobs: () => api('GET', '/api/v1/jobs?recent=25'),
  job: (id) => api('GET', '/api/v1/jobs/' + id),
  jobLog: (id) => api('GET', '/api/v1/jobs/' + id + '/log'),
  cancelJob: (id) => api('POST', '/api/v1/jobs/' + id + '/cancel'),
  backups: (policy) => api('GET', repoPath(policy) + '/backups' + q({ cred: pol(policy).cred })),
  hold: (policy, id, on) => api('POST', repoPath(policy) + '/backups/' + encodeURIComponent(id) +
    (on ? '/hold' : '/release') + q({ cred: pol(policy).cred })),
  catalog: (policy, backup, path) => api('GET', repoPath(policy) + '/backups/' + encodeURIComponent(backup) +
    '/catalog' + q({ path, cred: pol(policy).cred })),
  restoreVolume: (policy, backup, target, force) => api('POST', '/api/v1/restores',
    repoBody(policy, { backup, target, force: !!force })),
  restoreFile: (policy, backup, path, dest, force) => api('POST', '/api/v1/restores/file',
    repoBody(policy, { backup, paths: [path], dest, force: !!force })),
  copy: (policy, backup, to) => api('POST', '/api/v1/copies', repoBody(policy, { backup, to })),
  standbys: () => api('GET', '/api/v1/standbys'),
  failover: (name) => api('POST', '/api/v1/standbys/' + encodeURIComponent(name) + '/failover'),
};

/* ---- signing in ---- */

function showLogin(why) {
  $('#login').hidden = false;
  for (const s of document.querySelectorAll('section.view')) s.hidden = true;
  $('#logout').hidden = true;
  const e = $('#login-err');
  e.textContent = why && sessionStorage.getItem(TOKEN_KEY) ? why : '';
  e.hidden = !e.textContent;
  stopStreams();
  $('#token').focus();
}

async function signIn(ev) {
  ev.preventDefault();
  const tok = $('#token').value.trim();
  if (!tok) return;
  sessionStorage.setItem(TOKEN_KEY, tok);
  try {
    await routes.policies(); /* any call that needs the token */
  } catch (e) {
    $('#login-err').textContent = e.status === 401 ? 'That token was refused: ' + e.message : e.message;
    $('#login-err').hidden = false;
    return;
  }
  $('#token').value = '';
  start();
}

function signOut() {
  sessionStorage.removeItem(TOKEN_KEY);
  showLogin('');
}

/* ---- views ---- */

function show(view) {
  state.view = view;
  for (const b of document.querySelectorAll('#nav button')) b.classList.toggle('on', b.dataset.view === view);
  for (const s of document.querySelectorAll('section.view')) s.hidden = s.id !== 'v-' + view;
  refresh();
}

async function refresh() {
  try {
    if (state.view === 'policies') await loadPolicies();
    else if (state.view === 'jobs') await loadJobs();
    else if (state.view === 'points') await policyChoices('#points-policy');
    else if (state.view === 'files') await policyChoices('#files-policy');
    else if (state.view === 'standbys') await loadStandbys();
  } catch (e) {
    if (e.status !== 401) fail('Could not load ' + state.view, e);
  }
}

async function loadStatus() {
  try {
    const s = await routes.status();
    $('#daemon').textContent = 'cairn ' + s.version + ' · ' + s.jobs.running + '/' + s.jobs.max + ' jobs running' +
      (s.daemon.stopping ? ' · stopping' : '');
  } catch (e) {
    $('#daemon').textContent = e.status === 401 ? '' : 'daemon: ' + e.message;
  }
}

/* ---- policies ---- */

function rpoCell(p) {
  if (!p.rpo_s) return el('td', null, el('span', { class: 'muted' }, 'no RPO'));
  const late = p.last_run ? Date.now() / 1000 - p.last_run > p.rpo_s : true;
  return el('td', null, 'RPO ' + dur(p.rpo_s) + ' ', el('span', { class: 'badge ' + (late ? 'late' : 'ok') },
    late ? 'late' : 'ok'));
}

function stateCell(p) {
  if (p.paused) return el('td', null, el('span', { class: 'badge paused' }, 'paused'));
  if (!p.last_job) return el('td', null, el('span', { class: 'muted' }, 'not run yet'));
  return el('td', null, el('span', { class: 'badge s-' + p.last_job.state }, p.last_job.state),
    ' ', button('job ' + p.last_job.id, () => { show('jobs'); openLog(p.last_job.id); }, 'link'));
}

async function loadPolicies() {
  const d = await routes.policies();
  state.policies = d.policies;
  const tb = $('#policies tbody');
  tb.replaceChildren(...d.policies.map((p) => el('tr', { 'data-policy': p.name },
    el('td', null, el('strong', null, p.name)),
    el('td', { class: 'mono' }, p.source),
    el('td', { class: 'mono wide' }, p.repo),
    el('td', null, p.every_s ? 'every ' + dur(p.every_s) : p.cron ? 'cron ' + p.cron : ''),
    rpoCell(p),
    el('td', { title: when(p.last_run) }, 'ran ' + ago(p.last_run)),
    stateCell(p),
    el('td', { class: 'acts' },
      button('Run now', () => runPolicy(p.name), null, { 'data-act': 'run' }),
      button(p.paused ? 'Resume' : 'Pause', () => pausePolicy(p.name, !p.paused), 'sec'),
      button('Restore points', () => { show('points'); pickPolicy('#points-policy', p.name); loadPoints(); }, 'sec'),
      button('Delete', () => deletePolicy(p.name), 'danger')))));
  $('#policies-empty').hidden = d.policies.length > 0;
}

async function runPolicy(name) {
  try {
    const r = await routes.runPolicy(name);
    say('Policy ' + name + ': job ' + r.job + ' queued', true);
    show('jobs');
    openLog(r.job);
  } catch (e) { fail('Could not run ' + name, e); }
}

async function pausePolicy(name, pause) {
  try { await routes.pausePolicy(name, pause); await loadPolicies(); } catch (e) { fail('Could not change ' + name, e); }
}

async function deletePolicy(name) {
  const ok = await ask('Delete policy ' + name + '?', 'Its backups stay in the repository; the schedule goes.', []);
  if (!ok) return;
  try { await routes.deletePolicy(name); await loadPolicies(); } catch (e) { fail('Could not delete ' + name, e); }
}

async function createPolicy(ev) {
  ev.preventDefault();
  const f = new FormData(ev.target);
  const p = { name: f.get('name').trim(), volume: f.get('volume').trim(), repo: f.get('repo').trim() };
  if (f.get('cred').trim()) p.cred = f.get('cred').trim();
  /* "1h" is an interval; five fields with spaces are a cron line. */
  const sched = f.get('every').trim();
  if (/\s/.test(sched)) p.cron = sched; else p.every = sched;
  if (f.get('rpo').trim()) p.rpo = f.get('rpo').trim();
  if (f.get('snapshot') && f.get('snapshot') !== 'auto') p.snapshot = f.get('snapshot');
  if (f.get('keep_last')) p.keep = { last: Number(f.get('keep_last')) };
  try {
    await routes.createPolicy(p);
    say('Policy ' + p.name + ' created', true);
    ev.target.reset();
    $('#new-policy').open = false;
    await loadPolicies();
  } catch (e) { fail('Could not create policy ' + p.name, e); }
}

async function policyChoices(sel) {
  const s = $(sel), keep = s.value;
  const d = await routes.policies();
  state.policies = d.policies;
  s.replaceChildren(...d.policies.map((p) => el('option', { value: p.name }, p.name)));
  if (keep) s.value = keep;
}

function pickPolicy(sel, name) {
  const s = $(sel);
  if (![...s.options].some((o) => o.value === name)) s.append(el('option', { value: name }, name));
  s.value = name;
}

/* ---- restore points: a timeline per volume ---- */

/* A backup as the backups route gives it; off-site copies (copies: the
 * repositories holding it) once the API reports them. */
function bk(b) {
  const copies = b.copies || [];
  return { id: b.id, volume: b.volume || '', created: b.created_us / 1e6, size: b.size, held: !!b.held,
    reason: b.hold_reason, copies: Array.isArray(copies) ? copies : [copies] };
}

async function loadPoints() {
  const policy = $('#points-policy').value;
  const box = $('#timeline');
  if (!policy) { box.replaceChildren(el('p', { class: 'muted' }, 'Create a policy first.')); return; }
  box.replaceChildren(el('p', { class: 'muted' }, 'Loading…'));
  let d;
  try { d = await routes.backups(policy); } catch (e) {
    box.replaceChildren(el('p', { class: 'err' }, 'Could not list restore points: ' + e.message));
    return;
  }
  const list = (d.backups || []).map(bk);
  if (!list.length) { box.replaceChildren(el('p', { class: 'muted' }, 'No restore points yet.')); return; }
  /* Off-site: the policy's copy target holds what its copy runs took,
   * every restore point up to its last copy. */
  const cp = pol(policy).copy;
  if (cp && cp.last_copy)
    for (const b of list) if (!b.copies.length && b.created <= cp.last_copy) b.copies = [cp.to];
  const vols = new Map();
  for (const b of list) { if (!vols.has(b.volume)) vols.set(b.volume, []); vols.get(b.volume).push(b); }
  box.replaceChildren(cp ? el('p', { class: 'muted' }, 'Off-site copies to ', el('span', { class: 'mono' }, cp.to),
    ', last ' + ago(cp.last_copy)) : '', el('p', { class: 'legend' }, el('span', null, el('i'), 'restore point'),
    el('span', null, el('i', { class: 'held' }), 'held'), el('span', null, el('i', { class: 'copied' }), 'copied off-site')));
  for (const [vol, bs] of vols) {
    bs.sort((a, b) => a.created - b.created);
    const t0 = bs[0].created, t1 = bs[bs.length - 1].created, span = Math.max(1, t1 - t0);
    const line = el('div', { class: 'line', role: 'img', 'aria-label': 'restore points of ' + vol });
    for (const b of bs) {
      const dot = el('button', { type: 'button', class: 'dot' + (b.held ? ' held' : '') + (b.copies.length ? ' copied' : ''),
        title: when(b.created) + ' ' + b.id + (b.held ? ' (held)' : '') });
      dot.style.left = (bs.length === 1 ? 50 : 2 + 96 * (b.created - t0) / span) + '%';
      dot.addEventListener('click', () => { const r = document.getElementById('bk-' + b.id); if (r) r.scrollIntoView(); });
      line.append(dot);
    }
    const rows = bs.slice().reverse().map((b) => el('tr', { id: 'bk-' + b.id },
      el('td', { title: b.id, class: 'mono' }, b.id.slice(0, 12)),
      el('td', null, when(b.created)),
      el('td', { class: 'wide' }, size(b.size)),
      el('td', null, b.held ? el('span', { class: 'badge held', title: b.reason || '' }, 'held') : '',
        b.copies.map((c) => el('span', { class: 'badge ok', title: typeof c === 'string' ? c : JSON.stringify(c) }, 'copied'))),
      el('td', { class: 'acts' },
        button(b.held ? 'Release' : 'Hold', () => holdBackup(policy, b.id, !b.held), 'sec'),
        button('Files', () => { show('files'); pickPolicy('#files-policy', policy); $('#files-backup').value = b.id;
          openFiles('/'); }, 'sec'),
        button('Restore…', () => restoreVolume(policy, b.id)),
        button('Copy…', () => copyBackup(policy, b.id), 'sec'))));
    box.append(el('div', { class: 'vol' }, el('h3', null, vol || '(volume)'), line,
      el('div', { class: 'scroll' }, el('table', null, el('tbody', null, rows)))));
  }
}

async function holdBackup(policy, id, on) {
  try { await routes.hold(policy, id, on); await loadPoints(); } catch (e) {
    fail('Could not ' + (on ? 'hold ' : 'release ') + id.slice(0, 12), e);
  }
}

/* A job that a request started: follow it in the jobs view. */
function followJob(r, what) {
  const id = r && (r.job || (r.job_id) || (r.id && r.state ? r.id : null));
  say(what + (id ? ': job ' + id + ' started' : ' done'), true);
  if (id) { show('jobs'); openLog(id); }
}

async function restoreVolume(policy, id) {
  const v = await ask('Restore the volume', 'Writes backup ' + id.slice(0, 12) + ' to a path on the daemon\'s host.',
    [{ name: 'target', label: 'Target path or device', required: true },
      { name: 'force', label: 'Overwrite an existing target', type: 'checkbox' }]);
  if (!v) return;
  try { followJob(await routes.restoreVolume(policy, id, v.target, v.force), 'Restore'); } catch (e) {
    fail('Could not restore', e);
  }
}

async function copyBackup(policy, id) {
  const v = await ask('Copy off-site', 'Copies backup ' + id.slice(0, 12) + ' to another repository.',
    [{ name: 'to', label: 'Destination repository URI', required: true }]);
  if (!v) return;
  try { followJob(await routes.copy(policy, id, v.to), 'Copy'); } catch (e) { fail('Could not copy', e); }
}

/* ---- jobs, with live progress from each running job's event stream ---- */

function progressCell(j) {
  const td = el('td', { class: 'prog' });
  if (j.state === 'active' || j.state === 'queued') {
    const p = el('progress', { max: j.bytes_total || 1 });
    if (j.bytes_total) p.value = j.bytes_done;
    td.append(p, el('span', { class: 'pct' }, j.bytes_total ? Math.floor(100 * j.bytes_done / j.bytes_total) + '%' : j.state));
  } else if (j.bytes_done) {
    td.append(size(j.bytes_done) + (j.elapsed_s ? ' in ' + j.elapsed_s.toFixed(1) + ' s' : ''));
  }
  return td;
}

function jobRow(j) {
  return el('tr', { 'data-job': j.id, class: 'job-' + j.state },
    el('td', null, button(String(j.id), () => openLog(j.id), 'link')),
    el('td', null, j.kind),
    el('td', null, j.policy || ''),
    el('td', { class: 'mono wide' }, j.source),
    el('td', { title: j.error || j.result || '' }, el('span', { class: 'badge state s-' + j.state }, j.state),
      j.error ? el('div', { class: 'err' }, j.error) : ''),
    progressCell(j),
    el('td', { class: 'wide' }, when(j.started)),
    el('td', { class: 'acts' },
      (j.state === 'active' || j.state === 'queued') ? button('Cancel', () => cancelJob(j.id), 'danger') : '',
      (j.kind === 'backup' && j.state === 'done' && j.result && j.policy && !/\s/.test(j.result))
        ? button('Files', () => { show('files'); pickPolicy('#files-policy', j.policy); $('#files-backup').value = j.result;
          openFiles('/'); }, 'sec') : '',
      button('Log', () => openLog(j.id), 'sec')));
}

function renderJobs() {
  $('#jobs tbody').replaceChildren(...state.jobs.map(jobRow));
  const live = state.streams.size;
  $('#jobs-live').textContent = state.all ? 'live' : live ? 'live: ' + live + ' job' + (live > 1 ? 's' : '') : '';
}

async function loadJobs() {
  const d = await routes.jobs();
  state.jobs = d.jobs;
  renderJobs();
  if (!state.all)
    for (const j of d.jobs) if (j.state === 'active' || j.state === 'queued') follow(j.id);
}

function updateJob(j) {
  const i = state.jobs.findIndex((x) => x.id === j.id);
  if (i >= 0) state.jobs[i] = Object.assign(state.jobs[i], j); else state.jobs.unshift(j);
  if (state.view === 'jobs') renderJobs();
}

/* Server-Sent Events read with fetch (an EventSource cannot send the
 * token): calls onEv(event, data) for each until the stream ends or ctl
 * aborts it. */
async function sse(url, ctl, onEv) {
  const res = await fetch(url, { headers: authHeaders(), signal: ctl.signal, cache: 'no-store' });
  if (!res.ok || !res.body) throw new ApiError(res.status, 'http_' + res.status, 'events: ' + res.status);
  const rd = res.body.getReader(), dec = new TextDecoder();
  let buf = '';
  for (;;) {
    const { value, done } = await rd.read();
    if (done) return;
    buf += dec.decode(value, { stream: true });
    let k;
    while ((k = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, k);
      buf = buf.slice(k + 2);
      let ev = 'message', data = '';
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) ev = line.slice(6).trim();
        else if (line.startsWith('data:')) data += line.slice(5).trim();
      }
      if (data) onEv(ev, JSON.parse(data));
    }
  }
}

/* Every job's changes in one stream (GET /api/v1/events): new jobs and
 * progress appear without polling.  A daemon without it: each running
 * job's own stream instead (follow). */
function watchAll() {
  if (state.all || state.noAll) return;
  const ctl = new AbortController();
  state.all = ctl;
  sse('/api/v1/events', ctl, (ev, d) => { if (ev === 'job') updateJob(d); })
    .catch((e) => { if (e.status === 404) state.noAll = true; })
    .finally(() => {
      if (state.all !== ctl) return;
      state.all = null;
      /* Closed by the daemon (a restart): again in a while. */
      if (!ctl.signal.aborted) setTimeout(watchAll, 3000);
    });
}

/* One job's stream: its state, progress and log lines (from logFrom). */
async function follow(id, logFrom) {
  if (state.streams.has(id)) return;
  const ctl = new AbortController();
  state.streams.set(id, ctl);
  try {
    await sse('/api/v1/jobs/' + id + '/events' + q({ log_from: logFrom }), ctl, (ev, d) => onEvent(id, ev, d));
  } catch (e) {
    if (e.name !== 'AbortError') setTimeout(() => { if (state.view === 'jobs') loadJobs().catch(() => {}); }, 2000);
  } finally {
    if (state.streams.get(id) === ctl) state.streams.delete(id);
    if (state.view === 'jobs') renderJobs();
  }
}

function onEvent(id, ev, d) {
  if (ev === 'state' || ev === 'end') updateJob(d);
  else if (ev === 'progress') updateJob({ id, bytes_done: d.bytes_done, bytes_total: d.bytes_total, elapsed_s: d.elapsed_s });
  else if (ev === 'log' && state.logJob === id) appendLog(d);
  if (ev === 'end') {
    if (state.logJob === id) $('#log-title').textContent = 'Log of job ' + id + ' (' + d.state + ')';
    loadStatus();
  }
}

function stopStreams() {
  for (const c of state.streams.values()) c.abort();
  state.streams.clear();
  if (state.all) { const c = state.all; state.all = null; c.abort(); }
}

function appendLog(l) {
  const pre = $('#log');
  pre.append(new Date(l.time * 1000).toLocaleTimeString() + ' ' + (l.level === 'warning' ? 'WARNING ' : '') + l.line + '\n');
  pre.scrollTop = pre.scrollHeight;
}

async function openLog(id) {
  state.logJob = id;
  $('#log-panel').hidden = false;
  $('#log-title').textContent = 'Log of job ' + id;
  $('#log').replaceChildren();
  try {
    const [j, d] = await Promise.all([routes.job(id), routes.jobLog(id)]);
    updateJob(j);
    $('#log-title').textContent = 'Log of job ' + id + ' (' + j.state + ')';
    for (const l of d.lines) appendLog(l);
    if (j.state === 'active' || j.state === 'queued') {
      /* A stream sends the log from its log_from on: start one after
       * what is shown. */
      const old = state.streams.get(id);
      if (old) { old.abort(); state.streams.delete(id); }
      follow(id, j.log_lines);
    }
  } catch (e) { fail('Could not read the log of job ' + id, e); }
}

async function cancelJob(id) {
  try { await routes.cancelJob(id); say('Job ' + id + ': cancel asked; it stops at its next safe point', true); }
  catch (e) { fail('Could not cancel job ' + id, e); }
}

/* ---- files: a backup's catalog ---- */

async function openFiles(path) {
  const policy = $('#files-policy').value, backup = $('#files-backup').value.trim();
  if (!policy || !backup) return;
  const tb = $('#files tbody');
  tb.replaceChildren(el('tr', null, el('td', { colspan: 5, class: 'muted' }, 'Loading…')));
  let d;
  try { d = await routes.catalog(policy, backup, path); } catch (e) {
    tb.replaceChildren(el('tr', null, el('td', { colspan: 5, class: 'err' }, 'Could not open ' + path + ': ' + e.message)));
    return;
  }
  state.files = { policy, backup: d.backup.id, path: d.path };
  const crumbs = [button(d.backup.volume + '@' + d.backup.id.slice(0, 12), () => openFiles('/'), 'link')];
  let acc = '';
  for (const part of d.path.split('/').filter(Boolean)) {
    acc += '/' + part;
    const to = acc;
    crumbs.push(' / ', button(part, () => openFiles(to), 'link'));
  }
  $('#files-where').replaceChildren(...crumbs);
  const bad = (d.filesystems || []).filter((f) => !f.has_root);
  $('#files-fs').textContent = bad.map((f) => (f.name || 'volume') + ': no catalog (' + f.reason + ')').join('; ');
  const join = (n) => (d.path === '/' ? '' : d.path) + '/' + n;
  const rows = d.entries.map((e) => el('tr', { class: e.type === 'dir' ? 'dir' : 'file', 'data-name': e.name },
    el('td', { class: 'name' }, e.type === 'dir' ? button(e.name + '/', () => openFiles(join(e.name)), 'link')
      : el('span', { class: 'mono' }, e.name + (e.type === 'symlink' ? ' → ' + (e.target || '') : ''))),
    el('td', null, e.type === 'file' ? size(e.size) : e.type === 'dir' ? '' : e.type),
    el('td', { class: 'wide' }, when(e.mtime)),
    el('td', { class: 'wide mono' }, (e.mode >>> 0).toString(8).padStart(4, '0')),
    el('td', { class: 'acts' }, e.type === 'file' ? button('Restore…', () => restoreFile(join(e.name)), null,
      { 'data-act': 'restore-file' }) : '')));
  if (d.path !== '/') {
    const up = d.path.replace(/\/[^/]*$/, '') || '/';
    rows.unshift(el('tr', { class: 'dir' }, el('td', { class: 'name', colspan: 5 }, button('../', () => openFiles(up), 'link'))));
  }
  if (d.truncated) rows.push(el('tr', null, el('td', { colspan: 5, class: 'muted' }, 'More entries than shown.')));
  tb.replaceChildren(...rows);
}

/* The end of job id: its stream's "end" event (a Job), or the job as the
 * API has it when the stream breaks off. */
async function jobEnd(id) {
  let end = null;
  const ctl = new AbortController();
  try {
    await sse('/api/v1/jobs/' + id + '/events', ctl, (ev, d) => { if (ev === 'end') end = d; });
  } catch (e) { /* the job's row says how it ended */ }
  return end || routes.job(id);
}

/* A file restore runs as a job in the daemon (POST /api/v1/restores/file):
 * the message follows it to its end, waiting while the volume is busy. */
async function restoreFile(path) {
  const f = state.files;
  const base = path.split('/').pop();
  const v = await ask('Restore a file', 'Writes ' + path + ' of backup ' + f.backup.slice(0, 12) + ' as ' + base +
    ' into a directory on the daemon\'s host (made if missing).',
  [{ name: 'target', label: 'Destination directory', value: '/tmp/cairn-restore', required: true },
    { name: 'force', label: 'Replace an existing file', type: 'checkbox' }]);
  if (!v) return;
  try {
    const r = await routes.restoreFile(f.policy, f.backup, path, v.target, v.force);
    say('Restoring ' + path + ' into ' + v.target + ' (job ' + r.job + ')…', false);
    const j = await jobEnd(r.job);
    if (j.state === 'done') say('Restored ' + path + ' into ' + v.target + ' (job ' + r.job + ')', true);
    else say('Could not restore ' + path + ': ' + (j.error || 'the job ' + j.state) + ' (job ' + r.job + ')');
  } catch (e) { fail('Could not restore ' + path, e); }
}

/* ---- standby volumes ---- */

async function loadStandbys() {
  const d = await routes.standbys();
  $('#standbys tbody').replaceChildren(...d.standbys.map((s) => el('tr', null,
    el('td', null, el('strong', null, s.name)),
    el('td', { class: 'mono' }, s.source),
    el('td', { class: 'mono' }, s.target),
    el('td', { class: 'mono', title: s.backup || '' }, s.backup ? s.backup.slice(0, 12) : 'none yet'),
    el('td', null, ago(s.applied)),
    el('td', { class: 'acts' }, button('Fail over…', () => failover(s.name), 'danger')))));
  $('#standbys-empty').hidden = d.standbys.length > 0;
}

async function failover(name) {
  const ok = await ask('Fail over ' + name + '?', 'The standby volume becomes the primary: it is brought to its newest ' +
    'restore point and the chain continues from it.', []);
  if (!ok) return;
  try { followJob(await routes.failover(name), 'Failover of ' + name); await loadStandbys(); } catch (e) {
    fail('Could not fail over ' + name, e);
  }
}

/* ---- a small modal form: resolves to the values, or null ---- */

function ask(title, text, fields) {
  const dlg = $('#ask');
  $('#ask-title').textContent = title;
  $('#ask-text').textContent = text;
  $('#ask-fields').replaceChildren(...fields.map((f) => el('label', f.type === 'checkbox' ? { class: 'check' } : null,
    f.label, el('input', { name: f.name, type: f.type || 'text', value: f.value, required: f.required }))));
  return new Promise((resolve) => {
    dlg.addEventListener('close', () => {
      if (dlg.returnValue !== 'ok') return resolve(null);
      const v = {};
      for (const f of fields) {
        const i = dlg.querySelector('input[name="' + f.name + '"]');
        v[f.name] = f.type === 'checkbox' ? i.checked : i.value.trim();
      }
      resolve(v);
    }, { once: true });
    dlg.returnValue = '';
    dlg.showModal();
  });
}

/* ---- start ---- */

let timer = null;

async function start() {
  $('#login').hidden = true;
  $('#logout').hidden = !sessionStorage.getItem(TOKEN_KEY);
  show(state.view);
  loadStatus();
  watchAll();
  clearInterval(timer);
  /* New jobs appear by polling (cheap); running ones update live. */
  timer = setInterval(() => {
    if (!$('#login').hidden) return;
    loadStatus();
    if (state.view === 'jobs' && !state.all) loadJobs().catch(() => {});
    if (state.view === 'policies') loadPolicies().catch(() => {});
  }, 4000);
}

document.addEventListener('DOMContentLoaded', async () => {
  for (const b of document.querySelectorAll('#nav button')) b.addEventListener('click', () => show(b.dataset.view));
  $('#login-form').addEventListener('submit', signIn);
  $('#logout').addEventListener('click', signOut);
  $('#policy-form').addEventListener('submit', createPolicy);
  $('#points-load').addEventListener('click', loadPoints);
  $('#files-form').addEventListener('submit', (ev) => { ev.preventDefault(); openFiles('/'); });
  $('#log-close').addEventListener('click', () => { state.logJob = null; $('#log-panel').hidden = true; });
  /* Over TCP the API needs a token; ask for one only when it says so. */
  try {
    await routes.policies();
    start();
  } catch (e) {
    if (e.status !== 401) { start(); fail('The daemon', e); }
  }
});
