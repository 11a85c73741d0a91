/// The status page: one HTML file with its style and script inline, served from the binary (no
/// build step, no files to install, no third-party script). It renders `/ui/state.json` every 2 s.
/// Byte counts arrive formatted by the daemon (`*_text`), so the page adds no formatter of its own.
/// Every value from the daemon goes in through `textContent`, never as markup.
enum StatusPageHTML {
    static let text = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>hermes-runtime</title>
<style>
:root { --bg:#0f1419; --panel:#161c23; --line:#26303b; --text:#d8dee6; --dim:#8a96a3; --ok:#3fb950; --warn:#d29922; --bad:#f85149; --accent:#58a6ff; --gtt:#a371f7; }
* { box-sizing: border-box; }
[hidden] { display: none !important; }
body { margin:0; font:14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; background:var(--bg); color:var(--text); }
header { display:flex; flex-wrap:wrap; gap:6px 22px; align-items:baseline; padding:12px 20px; border-bottom:1px solid var(--line); }
h1 { font-size:18px; margin:0; letter-spacing:.02em; }
h2 { font-size:12px; text-transform:uppercase; letter-spacing:.08em; color:var(--dim); margin:0 0 8px; font-weight:600; }
main { display:grid; grid-template-columns:repeat(2, minmax(0, 1fr)); gap:14px; padding:14px 20px 24px; }
section { background:var(--panel); border:1px solid var(--line); border-radius:8px; padding:12px 14px; min-width:0; overflow-x:auto; }
.wide { grid-column:1 / -1; }
#spend .warn { color:var(--warn); } #spend .bad { color:var(--bad); }
table { border-collapse:collapse; width:100%; }
th, td { text-align:left; padding:4px 10px 4px 0; border-bottom:1px solid var(--line); white-space:nowrap; font-variant-numeric:tabular-nums; }
th { color:var(--dim); font-weight:500; font-size:12px; }
td.err { white-space:normal; color:var(--bad); min-width:14em; }
.badge { padding:1px 9px; border-radius:10px; font-size:12px; font-weight:600; }
.phase-ready { background:#1f3d28; color:var(--ok); }
.phase-starting, .phase-restarting { background:#3d3216; color:var(--warn); }
.phase-unhealthy, .phase-failed { background:#442022; color:var(--bad); }
.phase-stopped { background:#222a33; color:var(--dim); }
.pool { display:grid; grid-template-columns:9em 1fr 12em; gap:8px; align-items:center; margin:4px 0; }
.bar { height:10px; background:#222a33; border-radius:5px; overflow:hidden; }
.bar > div { height:100%; background:var(--accent); }
.bar.gtt > div { background:var(--gtt); }
.model { color:var(--ok); font-size:12px; }
pre { max-height:340px; overflow:auto; background:#0b0f14; padding:8px 10px; margin:0; font:12px/1.4 ui-monospace, "DejaVu Sans Mono", monospace; white-space:pre-wrap; word-break:break-all; }
button { background:#222a33; color:var(--text); border:1px solid var(--line); border-radius:5px; padding:2px 10px; cursor:pointer; font:inherit; font-size:12px; }
button:hover { border-color:var(--accent); }
tr.server { cursor:pointer; }
tr.server:hover, tr.selected { background:#1c242d; }
.dim { color:var(--dim); }
#error { color:var(--bad); }
svg { width:100%; height:110px; background:#0b0f14; border-radius:6px; margin-top:8px; display:block; }
.tally { display:inline-block; margin:0 14px 4px 0; }
.tally b { font-size:18px; margin-right:4px; }
form { display:flex; gap:8px; align-items:center; }
input { background:#0b0f14; color:var(--text); border:1px solid var(--line); border-radius:5px; padding:3px 8px; }
</style>
</head>
<body data-updates="0">
<header>
  <h1>hermes-runtime</h1>
  <span id="daemon" class="dim">connecting…</span>
  <span id="front" class="dim"></span>
  <span id="updated" class="dim"></span>
  <span id="error"></span>
  <form id="keyform" hidden>
    <input id="key" type="password" placeholder="front key" autocomplete="off">
    <button type="submit">use key</button>
  </form>
</header>
<main>
  <section class="wide">
    <h2>Servers</h2>
    <table id="servers">
      <thead><tr><th>profile</th><th>phase</th><th>model</th><th>pid</th><th>address</th><th>slots</th><th>ctx/slot</th><th>memory</th><th>GPU</th><th>uptime</th><th>load</th><th>restarts</th><th>last error</th><th id="actionshead"></th></tr></thead>
      <tbody></tbody>
    </table>
    <p class="dim" id="serverhint">Click a server for its log.</p>
  </section>
  <section>
    <h2>GPU memory</h2>
    <div id="gpu" class="dim">no sample yet</div>
    <svg id="chart" viewBox="0 0 360 100" preserveAspectRatio="none" aria-label="model pool use, last hour"></svg>
    <div class="dim" id="chartnote"></div>
  </section>
  <section>
    <h2>Bursts and fallbacks</h2>
    <div id="tallies" class="dim">none yet</div>
    <h2 style="margin-top:14px">Cost and budgets</h2>
    <div id="spend" class="dim">no ledger</div>
    <h2 style="margin-top:14px">Remote profiles</h2>
    <div id="remotes" class="dim">none</div>
  </section>
  <section class="wide">
    <h2>Last routing decisions</h2>
    <table id="decisions">
      <thead><tr><th>time</th><th>endpoint</th><th>profile</th><th>reason</th><th>status</th><th>attempts</th><th>latency</th></tr></thead>
      <tbody></tbody>
    </table>
    <p class="dim" id="decisionsnote">No request yet. Prompts are never shown here (events keep a hash and a length).</p>
  </section>
  <section class="wide" id="logsection" hidden>
    <h2 id="logtitle">log</h2>
    <pre id="log"></pre>
  </section>
</main>
<script>
'use strict';
const $ = (id) => document.getElementById(id);
let key = sessionStorage.getItem('hermes-front-key') || '';
let selected = null;
let busy = false;

function auth() { return key ? { 'Authorization': 'Bearer ' + key } : {}; }
function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}
function row(cells) { const tr = document.createElement('tr'); for (const c of cells) tr.appendChild(c instanceof Node ? c : el('td', c)); return tr; }
function dur(s) {
  if (s === undefined || s === null) return '-';
  s = Math.max(0, Math.floor(s));
  if (s < 60) return s + 's';
  if (s < 3600) return Math.floor(s / 60) + 'm' + (s % 60) + 's';
  return Math.floor(s / 3600) + 'h' + Math.floor((s % 3600) / 60) + 'm';
}
function dash(v) { return (v === undefined || v === null || v === '') ? '-' : v; }
function clock(iso) { const d = new Date(iso); return isNaN(d) ? dash(iso) : d.toLocaleTimeString([], { hour12: false }); }

async function refresh() {
  try {
    const r = await fetch('/ui/state.json', { headers: auth(), cache: 'no-store' });
    if (r.status === 401) {
      $('keyform').hidden = false;
      $('error').textContent = key ? 'the front refused this key' : 'this front wants its key';
      return;
    }
    if (!r.ok) throw new Error('state.json answered ' + r.status);
    const s = await r.json();
    $('keyform').hidden = true;
    $('error').textContent = '';
    render(s);
    if (selected) await showLog(selected, false);
    document.body.dataset.updates = String(Number(document.body.dataset.updates) + 1);
  } catch (e) {
    $('error').textContent = 'no answer from the front (' + e.message + ')';
  }
}

function render(s) {
  const d = s.daemon;
  $('daemon').textContent = d ? ('daemon pid ' + d.pid + ', up ' + dur(d.uptime_s) + ', config ' + d.config_root) : 'no daemon data (front alone)';
  const f = s.front || {};
  $('front').textContent = 'front ' + f.listen + (f.auth ? ' (key required)' : ' (loopback, no key)') + (f.default ? ', default ' + f.default : '');
  $('updated').textContent = 'updated ' + clock(s.generated_at);
  renderServers(s.servers || [], !!f.controls, !!f.auth);
  renderGPU(s.gpu);
  renderRouting(s.routing || {});
  renderSpend(s.spend);
  renderRemotes(f.remotes || []);
}

function renderServers(servers, controls, hasKey) {
  const body = $('servers').tBodies[0];
  body.replaceChildren();
  $('actionshead').textContent = controls ? 'actions' : '';
  for (const v of servers) {
    const phase = el('span', v.phase, 'badge phase phase-' + v.phase);
    const pc = el('td'); pc.appendChild(phase);
    const slots = (v.slots_total ? (dash(v.slots_busy) + '/' + v.slots_total) : '-') + (v.warm_text ? ' (warm: ' + v.warm_text + ')' : '');
    const address = v.port ? ((v.host || '') + ':' + v.port) : '-';
    const load = v.load_state ? v.load_state : (v.load_seconds ? v.load_seconds.toFixed(1) + 's' : '-');
    const model = dash(v.model_name) + (v.draft_text ? ' (' + v.draft_text + ')' : '');
    const tr = row([el('td', v.profile), pc, el('td', model), el('td', dash(v.pid)), el('td', address), el('td', slots),
      el('td', dash(v.context_per_slot)), el('td', dash(v.resident_text)), el('td', dash(v.gpu_text)), el('td', dur(v.uptime_s)),
      el('td', load), el('td', v.restarts), el('td', v.last_error || '', 'err')]);
    tr.className = 'server' + (selected === v.profile ? ' selected' : '');
    tr.dataset.profile = v.profile;
    tr.dataset.phase = v.phase;
    tr.addEventListener('click', () => showLog(v.profile, true));
    const actions = el('td');
    if (controls) {
      const running = ['starting', 'ready', 'unhealthy', 'restarting'].includes(v.phase);
      const buttons = running ? ['stop'] : ['start'];
      if (running && v.load_state === 'loaded') buttons.push('unload');
      for (const a of buttons) {
        const b = el('button', a);
        b.dataset.action = a;
        b.addEventListener('click', (ev) => { ev.stopPropagation(); act(v.profile, a); });
        actions.appendChild(b);
      }
    }
    tr.appendChild(actions);
    body.appendChild(tr);
  }
  $('serverhint').textContent = 'Click a server for its log.' + (controls ? '' : hasKey ? '' : ' Start and stop buttons appear when the front has a key (front.api_key_env).');
}

function renderGPU(g) {
  const box = $('gpu');
  box.replaceChildren();
  if (!g || !g.devices || g.devices.length === 0) {
    box.textContent = g && g.reason ? g.reason : 'no AMD GPU sample yet';
    box.className = 'dim';
  } else {
    box.className = '';
    for (const dev of g.devices) {
      const title = el('div', dev.name + (dev.busy_percent !== undefined && dev.busy_percent !== null ? ' · busy ' + dev.busy_percent + '%' : ''));
      box.appendChild(title);
      for (const p of dev.pools) {
        const line = el('div', null, 'pool');
        line.dataset.pool = p.pool;
        line.appendChild(el('span', p.name + (p.model ? ' ' : '')));
        if (p.model) line.firstChild.appendChild(el('span', '(models)', 'model'));
        const bar = el('div', null, 'bar' + (p.pool === 'gtt' ? ' gtt' : ''));
        const fill = el('div');
        fill.style.width = (p.total ? Math.min(100, 100 * p.used / p.total) : 0).toFixed(1) + '%';
        bar.appendChild(fill);
        line.appendChild(bar);
        line.appendChild(el('span', p.used_text + ' / ' + p.total_text, 'dim'));
        box.appendChild(line);
      }
      if (dev.model_pool_reason) box.appendChild(el('div', dev.model_pool_reason, 'dim'));
    }
  }
  drawChart(g && g.history ? g.history : []);
}

function drawChart(points) {
  const svg = $('chart');
  svg.replaceChildren();
  const ns = 'http://www.w3.org/2000/svg';
  for (const y of [25, 50, 75]) {
    const l = document.createElementNS(ns, 'line');
    l.setAttribute('x1', 0); l.setAttribute('x2', 360); l.setAttribute('y1', y); l.setAttribute('y2', y);
    l.setAttribute('stroke', '#26303b'); l.setAttribute('stroke-width', '0.5');
    svg.appendChild(l);
  }
  if (points.length === 0) { $('chartnote').textContent = 'the last hour of the model pool appears here'; return; }
  const now = points[points.length - 1].t;
  const xy = points.filter((p) => p.total > 0).map((p) => {
    const x = Math.max(0, 360 - (now - p.t) / 10);
    const y = 100 - Math.min(100, 100 * p.used / p.total);
    return x.toFixed(1) + ',' + y.toFixed(1);
  });
  if (xy.length > 0) {
    const first = xy[0].split(',')[0], last = xy[xy.length - 1].split(',')[0];
    const area = document.createElementNS(ns, 'polygon');
    area.setAttribute('points', first + ',100 ' + xy.join(' ') + ' ' + last + ',100');
    area.setAttribute('fill', 'rgba(163,113,247,0.18)');
    svg.appendChild(area);
  }
  const line = document.createElementNS(ns, 'polyline');
  line.setAttribute('points', xy.join(' '));
  line.setAttribute('fill', 'none');
  line.setAttribute('stroke', '#a371f7');
  line.setAttribute('stroke-width', '1.5');
  line.setAttribute('vector-effect', 'non-scaling-stroke');
  svg.appendChild(line);
  if (xy.length > 0) {
    const [x, y] = xy[xy.length - 1].split(',');
    const dot = document.createElementNS(ns, 'rect');
    dot.setAttribute('x', Math.min(357, Number(x) - 1.5)); dot.setAttribute('y', Number(y) - 2.5);
    dot.setAttribute('width', 3); dot.setAttribute('height', 5); dot.setAttribute('fill', '#a371f7');
    svg.appendChild(dot);
  }
  const last = points[points.length - 1];
  $('chartnote').textContent = 'model pool (' + last.pool_name + ') used, last hour: ' + last.used_text + ' of ' + last.total_text + ' now; ' + points.length + ' samples';
}

function renderSpend(sp) {
  const d = $('spend');
  d.replaceChildren();
  if (!sp) { d.textContent = 'no ledger'; d.className = 'dim'; return; }
  d.className = '';
  d.appendChild(el('div', 'today ' + sp.today + ' · this month ' + sp.month + ' · local saved ' + sp.saved_month + ' this month'));
  for (const b of sp.budgets || []) {
    const line = el('div', b.budget + ', ' + b.period + ': ' + b.left + ' left of ' + b.limit + (b.over ? ' (spent; resets ' + new Date(b.resets).toLocaleString() + ')' : ''));
    line.className = b.over ? 'bad' : (b.warn ? 'warn' : '');
    line.dataset.budget = b.budget;
    d.appendChild(line);
  }
}

function renderRouting(r) {
  const t = $('tallies');
  t.replaceChildren();
  const b = Object.entries(r.bursts || {}), f = Object.entries(r.fallbacks || {});
  if (b.length === 0 && f.length === 0) { t.textContent = 'none yet'; t.className = 'dim'; }
  else {
    t.className = '';
    for (const [title, items] of [['bursts', b], ['fallbacks', f]]) {
      if (items.length === 0) continue;
      const div = el('div'); div.appendChild(el('span', title + ': ', 'dim'));
      for (const [reason, n] of items.sort()) {
        const s = el('span', null, 'tally'); s.dataset.kind = title; s.dataset.reason = reason;
        s.appendChild(el('b', n)); s.appendChild(document.createTextNode(reason));
        div.appendChild(s);
      }
      t.appendChild(div);
    }
  }
  const body = $('decisions').tBodies[0];
  body.replaceChildren();
  const recent = r.recent || [];
  $('decisionsnote').hidden = recent.length > 0;
  for (const e of recent) {
    const attempts = (e.attempts || []).map((a) => a.profile + ':' + a.outcome).join(' → ');
    const tr = row([clock(e.time), dash(e.endpoint), dash(e.profile), dash(e.reason), dash(e.status), attempts || '-',
      e.total_ms !== undefined ? Number(e.total_ms).toFixed(1) + ' ms' : '-']);
    tr.dataset.profile = e.profile || '';
    tr.dataset.reason = e.reason || '';
    body.appendChild(tr);
  }
}

function renderRemotes(remotes) {
  const box = $('remotes');
  box.replaceChildren();
  if (remotes.length === 0) { box.textContent = 'none'; return; }
  box.className = '';
  for (const r of remotes) {
    const d = el('div');
    d.appendChild(el('span', r.profile));
    d.appendChild(el('span', ' ' + (r.model || ''), 'dim'));
    if (r.cooling) d.appendChild(el('span', ' cooling down', 'badge phase-restarting'));
    box.appendChild(d);
  }
}

async function showLog(profile, user) {
  selected = profile;
  for (const tr of document.querySelectorAll('tr.server')) tr.classList.toggle('selected', tr.dataset.profile === profile);
  $('logsection').hidden = false;
  $('logtitle').textContent = profile + ' log (last 200 lines)';
  try {
    const r = await fetch('/ui/logs/' + encodeURIComponent(profile) + '?lines=200', { headers: auth(), cache: 'no-store' });
    const j = await r.json();
    const pre = $('log');
    const atEnd = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
    pre.textContent = r.ok ? j.lines.join('\n') : (j.error ? j.error.message : 'no log');
    if (user || atEnd) pre.scrollTop = pre.scrollHeight;
  } catch (e) {
    $('log').textContent = 'could not read the log: ' + e.message;
  }
}

async function act(profile, action) {
  if (busy) return;
  busy = true;
  $('error').textContent = action + ' ' + profile + '…';
  try {
    const r = await fetch('/ui/servers/' + encodeURIComponent(profile) + '/' + action, { method: 'POST', headers: auth() });
    const j = await r.json().catch(() => ({}));
    $('error').textContent = r.ok ? '' : (j.message || (j.error && j.error.message) || ('answered ' + r.status));
  } finally {
    busy = false;
    refresh();
  }
}

$('keyform').addEventListener('submit', (ev) => {
  ev.preventDefault();
  key = $('key').value;
  sessionStorage.setItem('hermes-front-key', key);
  refresh();
});
refresh();
setInterval(refresh, 2000);
</script>
</body>
</html>
"""#
}
