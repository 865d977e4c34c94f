// The overview: traffic now, entry points, objects by status, providers
// and the problems to fix.
import { h, put, icon, section, fmtInt, fmtRate, fmtPercent, timeAgo, fmtDate, splitOrigin, objectHref, empty } from './dom.js';
import { getJSON, getOptional } from './api.js';

const KIND_PAGES = {
  router: ['http', 'routers'], service: ['http', 'services'], middleware: ['http', 'middlewares'],
  tcpRouter: ['tcp', 'routers'], tcpService: ['tcp', 'services'], udpRouter: ['udp', 'routers'], udpService: ['udp', 'services'],
};

export function overviewView() {
  let root;
  let entryPoints = null; // static: read once
  let timer;
  return {
    title: 'Overview',
    mount(el) {
      root = h('div', { class: 'page' }, h('h1', null, 'Overview'), h('p', { class: 'muted pad' }, 'Loading…'));
      el.append(root);
      // Rates move without configuration changes: read again every 2 s.
      timer = setInterval(() => window.dispatchEvent(new Event('ferry:refresh')), 2000);
    },
    destroy() { clearInterval(timer); },
    async refresh() {
      if (!entryPoints) entryPoints = await getOptional('api/entrypoints', []);
      const o = await getJSON('api/overview');
      put(root, ...render(o, entryPoints));
    },
  };
}

function render(o, entryPoints) {
  const conns = o.entryPoints.reduce((n, e) => n + Object.values(e.connections || {}).reduce((a, b) => a + b, 0), 0);
  const disabled = ['http', 'tcp', 'udp'].reduce((n, p) => n + o[p].routers.disabled + o[p].services.disabled + o[p].middlewares.disabled, 0);
  const r = o.requests;
  return [
    h('div', { class: 'title-row' }, h('h1', null, 'Overview'),
      h('span', { class: 'muted small', title: fmtDate(o.time) }, 'Updated ', timeAgo(o.time))),
    h('div', { class: 'tiles' },
      tile('Requests / s', fmtRate(r.rate), `${fmtInt(r.total)} since start`),
      tile('Server errors / s', fmtRate(r.errorRate), r.rate ? `${fmtPercent(r.errorRate, r.rate)} of requests (5xx)` : `${fmtInt(r.serverErrors)} since start (5xx)`,
        r.errorRate > 0 ? 'bad' : ''),
      tile('Open connections', fmtInt(conns), `${o.entryPoints.length} entry point${o.entryPoints.length === 1 ? '' : 's'}`),
      tile('Disabled objects', fmtInt(disabled), disabled ? h('a', { href: '#/http/routers?status=disabled' }, 'See why') : 'Everything is served',
        disabled ? 'bad' : 'ok')),
    section('Entry points', entryPointTable(o, entryPoints)),
    h('div', { class: 'cards' }, ['http', 'tcp', 'udp'].map((p) => protocolCard(p, o[p]))),
    section('Providers', providerTable(o.providers)),
    section(`Problems${o.problemsTotal ? ` (${fmtInt(o.problemsTotal)})` : ''}`, problemList(o)),
  ];
}

function tile(label, value, sub, tone) {
  return h('div', { class: ['tile', tone && 'tile-' + tone] },
    h('div', { class: 'tile-label' }, label), h('div', { class: 'tile-value' }, value), h('div', { class: 'tile-sub' }, sub));
}

function entryPointTable(o, entryPoints) {
  const live = new Map(o.entryPoints.map((e) => [e.name, e]));
  const names = entryPoints.length ? entryPoints : o.entryPoints.map((e) => ({ name: e.name }));
  if (!names.length) return empty('No entry point.');
  return h('div', { class: 'table-wrap' }, h('table', { class: 'list' },
    h('thead', null, h('tr', null, ['Name', 'Address', 'Protocol', 'Open connections', 'Requests / s', '5xx / s'].map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', null, names.map((ep) => {
      const l = live.get(ep.name) || { connections: {} };
      const c = Object.entries(l.connections || {}).filter(([, n]) => n > 0);
      return h('tr', null,
        td('Name', h('strong', null, ep.name)),
        td('Address', h('code', null, ep.address || '—')),
        td('Protocol', (ep.protocol === 'udp' ? 'UDP' : 'HTTP, TCP') + (ep.tls ? ' · TLS (http.tls)' : '')),
        td('Open connections', c.length ? c.map(([p, n]) => `${fmtInt(n)} ${p}`).join(', ') : '0'),
        td('Requests / s', fmtRate(l.rate)),
        td('5xx / s', fmtRate(l.errorRate)));
    }))));
}

function td(label, ...children) {
  return h('td', { 'data-label': label }, children);
}

function protocolCard(proto, counts) {
  const rows = [['Routers', 'routers', counts.routers], ['Services', 'services', counts.services]];
  if (proto === 'http') rows.push(['Middlewares', 'middlewares', counts.middlewares]);
  return h('section', { class: 'panel card' }, h('h2', null, proto.toUpperCase()),
    h('ul', { class: 'counts' }, rows.map(([label, kind, c]) => h('li', null,
      h('a', { class: 'count-name', href: `#/${proto}/${kind}` }, label),
      h('a', { class: ['count', c.enabled ? 'tone-ok' : 'tone-none'], href: `#/${proto}/${kind}?status=enabled`, title: `${c.enabled} enabled` },
        icon('ok'), h('span', null, fmtInt(c.enabled), h('span', { class: 'sr' }, ' enabled'))),
      h('a', { class: ['count', c.disabled ? 'tone-bad' : 'tone-none'], href: `#/${proto}/${kind}?status=disabled`, title: `${c.disabled} disabled` },
        icon('bad'), h('span', null, fmtInt(c.disabled), h('span', { class: 'sr' }, ' disabled')))))));
}

function providerTable(providers) {
  if (!providers.length) return empty('No provider has sent anything yet.');
  return h('div', { class: 'table-wrap' }, h('table', { class: 'list' },
    h('thead', null, h('tr', null, ['Provider', 'Last update', 'Objects', 'Disabled', 'Problems'].map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', null, providers.map((p) => h('tr', null,
      td('Provider', h('a', { href: `#/http/routers?provider=${encodeURIComponent(p.name)}` }, p.name)),
      td('Last update', p.lastUpdate ? h('time', { datetime: p.lastUpdate, title: fmtDate(p.lastUpdate) }, timeAgo(p.lastUpdate)) : h('span', { class: 'muted' }, '—')),
      td('Objects', fmtInt(p.objects)),
      td('Disabled', p.disabled ? h('span', { class: 'tone-bad strong' }, icon('bad'), ' ', fmtInt(p.disabled)) : '0'),
      td('Problems', p.problems ? h('span', { class: 'tone-bad strong' }, fmtInt(p.problems)) : '0'))))));
}

function problemList(o) {
  if (!o.problems.length) return h('p', { class: 'empty tone-ok' }, icon('ok'), ' No problem: every object is served.');
  const items = o.problems.map((p) => {
    const page = KIND_PAGES[p.kind];
    const name = page ? h('a', { href: objectHref(page[0], page[1], p.name) }, p.name) : h('strong', null, p.name);
    const { text } = splitOrigin(p.message);
    return h('li', null, icon('bad', 'tone-bad'),
      h('div', null, h('div', null, h('span', { class: 'kind' }, p.kind), ' ', name, p.field ? h('span', { class: 'muted' }, ' · ', p.field) : null),
        h('div', { class: 'err-text' }, text),
        p.origin ? h('div', { class: 'origin' }, icon('file'), p.origin) : null));
  });
  const more = o.problemsTotal - o.problems.length;
  return [h('ul', { class: 'problems' }, items), more > 0 ? h('p', { class: 'muted' }, `and ${fmtInt(more)} more in `, h('a', { href: '../api/rawdata' }, '/api/rawdata')) : null];
}
