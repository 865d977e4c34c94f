// The dashboard's shell: hash routing, the live event stream, and the
// lifecycle of the current view.
import { h, put } from './dom.js';
import { apiURL } from './api.js';
import { parseHash } from './nav.js';
import { overviewView } from './overview.js';
import { listView } from './lists.js';
import { detailView } from './detail.js';
import { tlsView, certificateView } from './tls.js';
import { explainView } from './explain.js';

const routes = [
  [/^\/?$/, () => overviewView()],
  [/^\/(http|tcp|udp)\/(routers|services|middlewares)$/, (m) => listView(m[1], m[2])],
  [/^\/(http|tcp|udp)\/(routers|services|middlewares)\/(.+)$/, (m) => detailView(m[1], m[2], decodeURIComponent(m[3]))],
  [/^\/tls$/, () => tlsView()],
  [/^\/tls\/(.+)$/, (m) => certificateView(decodeURIComponent(m[1]))],
  [/^\/explain$/, () => explainView()],
];

const main = document.getElementById('main');
const banner = document.getElementById('banner');
let current = null; // { path, view }

function route() {
  const { path, params } = parseHash();
  if (current && current.path === path) {
    if (current.view.update) current.view.update(params);
    return;
  }
  if (current && current.view.destroy) current.view.destroy();
  let view = null;
  for (const [re, make] of routes) {
    const m = re.exec(path);
    if (m) { view = make(m); break; }
  }
  if (!view) view = { title: 'Not found', mount: (el) => el.append(h('p', { class: 'pad' }, 'No such page. ', h('a', { href: '#/' }, 'Overview'))) };
  current = { path, view };
  document.title = view.title ? `${view.title} · Ferry` : 'Ferry';
  markNav(path);
  put(main);
  view.mount(main, params);
  refresh();
  if (!main.contains(document.activeElement) || document.activeElement === document.body) main.focus({ preventScroll: true });
  window.scrollTo(0, 0);
}

function markNav(path) {
  const section = path.split('/')[1] || 'overview';
  for (const a of document.querySelectorAll('.main-nav a')) {
    if (a.dataset.section === section) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
}

// refresh asks the current view to read its data again; calls that come
// while it reads are folded into one more read.
let refreshing = false;
let again = false;
export async function refresh() {
  if (refreshing) { again = true; return; }
  refreshing = true;
  try {
    await streamOpen; // so that no change can fall between a read and the stream's start
    do {
      again = false;
      const c = current;
      if (!c || !c.view.refresh) break;
      try {
        await c.view.refresh();
        performance.mark('ferry:rendered', { detail: c.path }); // for measurements
        showBanner('');
      } catch (e) {
        showBanner(`Cannot read Ferry's API: ${e.message}`);
      }
    } while (again);
  } finally {
    refreshing = false;
  }
}

function showBanner(text) {
  banner.hidden = !text;
  banner.textContent = text;
}

// Live updates: a "change" event from /api/events means a configuration
// was applied or a server's health changed; the current view reads again.
// Without the stream (a proxy that buffers it), poll every second.
const live = document.getElementById('live');
let pollTimer = null;
let failures = 0;
let opened = false;
let markOpen;
const streamOpen = new Promise((resolve) => { markOpen = resolve; setTimeout(resolve, 1500); });

function setLive(state, text) {
  live.dataset.state = state;
  live.querySelector('.live-text').textContent = text;
}

function connect() {
  if (!('EventSource' in window)) { poll(); return; }
  const es = new EventSource(apiURL('api/events'));
  es.onopen = () => {
    failures = 0;
    if (pollTimer) { clearInterval(pollTimer); pollTimer = null; }
    setLive('live', 'Live');
    // The first read waits for the stream; after a reconnection, changes
    // may have been missed: read again.
    if (opened) refresh(); else markOpen();
    opened = true;
  };
  es.addEventListener('change', () => refresh());
  es.onerror = () => {
    failures++;
    markOpen();
    setLive('down', 'Reconnecting…');
    if (failures >= 3 && !pollTimer) poll();
  };
}

function poll() {
  markOpen();
  setLive('poll', 'Polling');
  pollTimer = setInterval(refresh, 1000);
}

// Keyboard: "/" jumps to the page's search box.
document.addEventListener('keydown', (e) => {
  if (e.key !== '/' || e.ctrlKey || e.metaKey || e.altKey) return;
  const t = e.target;
  if (t instanceof HTMLInputElement || t instanceof HTMLTextAreaElement || t instanceof HTMLSelectElement) return;
  const search = main.querySelector('input[type=search]');
  if (search) { e.preventDefault(); search.focus(); search.select(); }
});

window.addEventListener('hashchange', route);
window.addEventListener('ferry:refresh', () => refresh());
route();
connect();
