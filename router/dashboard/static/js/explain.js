// Explain: which router serves a request on each entry point, what it goes
// through, and why each other router for its host does not.
import { h, put, icon, code, section, empty, objectHref, errorList } from './dom.js';
import { getJSON } from './api.js';
import { setParams } from './nav.js';
import { chainDiagram } from './chain.js';

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

const REASONS = {
  priority: ['Lower priority', 'warn'],
  rule: ['Rule does not match', 'bad'],
  entryPoint: ['Other entry point', 'pending'],
  tlsOnly: ['TLS only', 'pending'],
  plainOnly: ['Plain HTTP only', 'pending'],
  disabled: ['Disabled', 'bad'],
};

export function explainView() {
  const ui = {};
  let params;
  let lastQuery = null;

  function query(p) {
    const q = new URLSearchParams();
    if (!p.get('url')) return null;
    q.set('method', p.get('method') || 'GET');
    q.set('url', p.get('url'));
    for (const line of (p.get('h') || '').split('\n')) if (line.includes(':')) q.append('header', line.trim());
    if (p.get('ip')) q.set('clientIP', p.get('ip'));
    return q.toString();
  }

  function fill(p) {
    ui.method.value = p.get('method') || 'GET';
    ui.url.value = p.get('url') || '';
    ui.headers.value = p.get('h') || '';
    ui.ip.value = p.get('ip') || '';
  }

  async function run(force) {
    const q = query(params);
    if (!q) { put(ui.out); return; }
    if (!force && q === lastQuery) return;
    lastQuery = q;
    ui.out.setAttribute('aria-busy', 'true');
    try {
      const ex = await getJSON('api/explain?' + q);
      put(ui.out, ...render(ex, ui.out));
    } catch (e) {
      put(ui.out, h('p', { class: 'panel panel-bad', role: 'alert' }, icon('bad', 'tone-bad'), ' ', e.message));
    } finally {
      ui.out.removeAttribute('aria-busy');
    }
  }

  return {
    title: 'Explain',
    mount(el, p) {
      params = p;
      ui.method = h('select', { id: 'ex-method', name: 'method' }, METHODS.map((m) => h('option', { value: m }, m)));
      ui.url = h('input', { id: 'ex-url', name: 'url', type: 'text', inputmode: 'url', required: true, placeholder: 'https://app.example.com/api/x', autocomplete: 'off', spellcheck: 'false' });
      ui.headers = h('textarea', { id: 'ex-headers', name: 'headers', rows: 2, placeholder: 'X-Env: prod', spellcheck: 'false' });
      ui.ip = h('input', { id: 'ex-ip', name: 'clientIP', placeholder: '203.0.113.7', autocomplete: 'off', spellcheck: 'false' });
      ui.out = h('div', { class: 'explain-out', 'aria-live': 'polite' });
      const form = h('form', { class: 'explain-form panel', on: { submit: (e) => {
        e.preventDefault();
        params = setParams({ method: ui.method.value === 'GET' ? null : ui.method.value, url: ui.url.value.trim(), h: ui.headers.value.trim(), ip: ui.ip.value.trim() });
        run(true);
      } } },
      h('div', { class: 'row' },
        h('label', { class: 'field f-method' }, h('span', null, 'Method'), ui.method),
        h('label', { class: 'field f-url' }, h('span', null, 'URL'), ui.url)),
      h('div', { class: 'row' },
        h('label', { class: 'field f-headers' }, h('span', null, 'Headers, one per line'), ui.headers),
        h('label', { class: 'field f-ip' }, h('span', null, 'Client IP (for ClientIP rules)'), ui.ip),
        h('div', { class: 'field f-submit' }, h('button', { type: 'submit', class: 'primary' }, 'Explain'))));
      el.append(h('div', { class: 'page' }, h('h1', null, 'Explain a request'),
        h('p', { class: 'muted lead' }, 'Which router serves it on each entry point, what it goes through, and why every other router for its host does not.'
          + ' The scheme tells TLS (https) from plain HTTP.'),
        form, ui.out));
      fill(params);
    },
    update(p) { params = p; fill(p); run(false); },
    refresh() { return run(true); }, // a new configuration may change the answer
  };
}

function render(ex, out) {
  const width = out.clientWidth || document.documentElement.clientWidth - 40;
  const parts = [h('p', { class: 'request-line' }, code(`${ex.method} ${ex.url}`),
    h('span', { class: 'muted' }, ` · host ${ex.host} · ${ex.tls ? 'TLS' : 'plain HTTP'}${ex.clientIP ? ` · client ${ex.clientIP}` : ''}`))];
  if (!ex.entryPoints.length) parts.push(empty('No HTTP entry point.'));
  for (const ep of ex.entryPoints) {
    const w = ep.winner;
    const verdict = w
      ? h('p', { class: 'verdict tone-ok' }, icon('ok'), ' ', h('a', { href: objectHref('http', 'routers', w.router), class: 'winner' }, w.router), ` serves it (priority ${w.priority})`)
      : h('p', { class: 'verdict tone-bad' }, icon('bad'), ' ', sentence(ep.summary));
    const groups = w ? [
      { title: 'Entry point', nodes: [{ label: ep.entryPoint, sub: ex.tls ? 'TLS' : 'plain HTTP' }] },
      { title: 'Router', nodes: [{ label: w.router, sub: w.rule, href: objectHref('http', 'routers', w.router), tone: 'ok', mark: 'ok' }] },
      ...(w.middlewares || []).map((m, i) => ({ title: i === 0 ? 'Middlewares' : '', nodes: [{ label: m, href: objectHref('http', 'middlewares', m) }] })),
      { title: 'Service', nodes: [{ label: w.service, href: w.service.endsWith('@internal') ? null : objectHref('http', 'services', w.service) }] },
      { title: w.servers ? 'Servers' : 'Services', nodes: (w.servers || w.services || []).map((x) => (w.servers
        ? { label: x.replace(/^[a-z0-9]+:\/\//, ''), title: x } : { label: x, href: objectHref('http', 'services', x) })) },
    ] : null;
    parts.push(h('section', { class: 'panel ep-verdict', 'data-entrypoint': ep.entryPoint },
      h('h2', null, 'Entry point ', code(ep.entryPoint), ep.tlsEntryPoint ? h('span', { class: 'chip' }, icon('lock'), ' http.tls') : null),
      verdict, groups ? chainDiagram(groups, width) : null,
      ep.others.length ? [h('h3', null, `Other routers for ${ex.host}`), verdictTable(ep.others)] : h('p', { class: 'muted' }, `No other router could serve ${ex.host} here.`)));
  }
  if (ex.disabled && ex.disabled.length) {
    parts.push(section(`Disabled routers for ${ex.host}`, verdictTable(ex.disabled)));
  }
  return parts;
}

function verdictTable(list) {
  return h('div', { class: 'table-wrap' }, h('table', { class: 'list verdicts' },
    h('thead', null, h('tr', null, ['Router', 'Priority', 'Why it did not win'].map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', null, list.map((v) => {
      const [label, tone] = REASONS[v.reason] || [v.reason, 'pending'];
      return h('tr', { 'data-router': v.router },
        h('td', { 'data-label': 'Router' }, h('a', { href: objectHref('http', 'routers', v.router) }, v.router), v.rule ? h('div', null, code(v.rule, 'rule small')) : null),
        h('td', { 'data-label': 'Priority' }, v.priority ? String(v.priority) : '—'),
        h('td', { 'data-label': 'Why it did not win' },
          h('span', { class: ['reason', 'tone-' + tone] }, icon(tone === 'bad' ? 'bad' : tone === 'warn' ? 'warn' : 'pending'), ' ', label),
          v.reason === 'disabled' ? errorList(v.errors) : h('div', { class: 'why' }, sentence(v.detail)),
          v.reason === 'disabled' && v.trace ? h('div', { class: 'why muted' }, v.trace.matched ? 'Its rule would match.' : `Its rule would not match either.`) : null));
    }))));
}

// sentence starts a detail with a capital letter.
function sentence(text) {
  return text ? text[0].toUpperCase() + text.slice(1) : '';
}
