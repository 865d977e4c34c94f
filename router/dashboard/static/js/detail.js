// Detail pages: a router with the picture of its chain, a service with its
// servers' health, a middleware with its settings; TCP and UDP objects.
import { h, put, statusBadge, errorList, chips, code, objectHref, section, fmtInt, timeAgo, fmtDate, empty, kindOf, tone, icon } from './dom.js';
import { getJSON, getOptional, NotFound, objectPath } from './api.js';
import { chainDiagram } from './chain.js';

const STATE_KEYS = ['name', 'provider', 'status', 'error', 'usedBy', 'using', 'serverStatus', 'serverHealth'];
const SINGULAR = { routers: 'router', services: 'service', middlewares: 'middleware' };

export function detailView(proto, kind, name) {
  let root;
  let entryPoints = null;
  return {
    title: name,
    mount(el) {
      root = h('div', { class: 'page' }, h('p', { class: 'muted pad' }, 'Loading…'));
      el.append(root);
    },
    async refresh() {
      let obj;
      try {
        obj = await getJSON(objectPath(proto, kind, name));
      } catch (e) {
        if (!(e instanceof NotFound)) throw e;
        put(root, header(proto, kind, name, null),
          empty(`There is no ${proto.toUpperCase()} ${SINGULAR[kind]} named ${name} in the live configuration.`));
        return;
      }
      if (!entryPoints) entryPoints = await getOptional('api/entrypoints', []);
      const parts = [header(proto, kind, name, obj), errorPanel(obj)];
      if (proto === 'http' && kind === 'routers') parts.push(...await routerParts(obj, entryPoints, root));
      else if (proto === 'http' && kind === 'services') parts.push(...await serviceParts(obj, root));
      else if (kind === 'middlewares') parts.push(...middlewareParts(obj));
      else parts.push(...layer4Parts(proto, kind, obj));
      parts.push(definitionPanel(obj));
      put(root, ...parts.filter(Boolean));
    },
  };
}

function header(proto, kind, name, obj) {
  return h('div', { class: 'detail-head' },
    h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' }, h('a', { href: `#/${proto}/${kind}` }, `${proto.toUpperCase()} ${kind}`), ' / '),
    h('div', { class: 'title-row' }, h('h1', null, name), obj ? statusBadge(obj.status) : null,
      obj && obj.provider ? h('span', { class: 'chip' }, obj.provider) : null));
}

function errorPanel(obj) {
  if (!obj.error || !obj.error.length) return null;
  return h('section', { class: 'panel panel-bad' }, h('h2', null, 'Why it is disabled'), errorList(obj.error));
}

function definitionOf(obj) {
  const def = {};
  for (const [k, v] of Object.entries(obj)) if (!STATE_KEYS.includes(k)) def[k] = v;
  return def;
}

function definitionPanel(obj) {
  return h('details', { class: 'panel definition' }, h('summary', null, 'Definition (JSON, secrets redacted)'),
    h('pre', null, JSON.stringify(definitionOf(obj), null, 2)));
}

function props(rows) {
  return h('dl', { class: 'props' }, rows.filter(Boolean).map(([k, v]) => [h('dt', null, k), h('dd', null, v)]));
}

function width(root) {
  return (root.isConnected ? root.clientWidth : document.documentElement.clientWidth) - 40;
}

async function routerParts(r, entryPoints, root) {
  const tlsEPs = new Set(entryPoints.filter((e) => e.tls).map((e) => e.name));
  const eps = r.using && r.using.length ? r.using : r.entryPoints && r.entryPoints.length ? r.entryPoints : entryPoints.filter((e) => e.protocol !== 'udp').map((e) => e.name);
  const svcName = r.service || '';
  const internal = svcName.endsWith('@internal');
  const [svc, mws] = await Promise.all([
    svcName && !internal ? getOptional(objectPath('http', 'services', svcName), null) : null,
    Promise.all((r.middlewares || []).map((m) => getOptional(objectPath('http', 'middlewares', m), null))),
  ]);
  const groups = [
    { title: 'Entry points', nodes: eps.map((e) => ({ label: e, sub: (r.tls || tlsEPs.has(e)) ? 'TLS' : 'plain HTTP' })) },
    { title: 'Router', nodes: [{ label: r.name, sub: r.rule, tone: tone(r.status), mark: r.status === 'enabled' ? 'ok' : 'bad' }] },
  ];
  (r.middlewares || []).forEach((m, i) => {
    const mw = mws[i];
    groups.push({ title: i === 0 ? 'Middlewares' : '', nodes: [{ label: m, href: objectHref('http', 'middlewares', m),
      sub: mw ? kindOf(mw, STATE_KEYS) : 'does not exist', tone: mw ? tone(mw.status) : 'bad', mark: mw && mw.status === 'enabled' ? 'ok' : 'bad' }] });
  });
  groups.push({ title: 'Service', nodes: [serviceNode(svcName, svc, internal)] });
  if (svc) groups.push({ title: svc.loadBalancer ? 'Servers' : 'Services', nodes: targetNodes(svc) });
  const explain = explainHref(r.rule, r.tls || eps.some((e) => tlsEPs.has(e)));
  return [
    section('Request path', chainDiagram(groups, width(root))),
    section('Settings', props([
      ['Rule', r.rule ? code(r.rule, 'rule') : '—'],
      ['Priority', r.priority ? String(r.priority) : `${(r.rule || '').length} (default: the rule's length)`],
      ['Entry points', chips(eps)],
      ['TLS', r.tls ? h('span', null, icon('lock'), ' ', r.tls.certResolver ? `certificate from ${r.tls.certResolver}` : 'yes',
        r.tls.domains ? ` (${r.tls.domains.map((d) => [d.main, ...(d.sans || [])].join(', ')).join('; ')})` : '') : eps.some((e) => tlsEPs.has(e)) ? 'from the entry point (http.tls)' : 'no'],
      ['Middlewares', chips(r.middlewares, (m) => objectHref('http', 'middlewares', m))],
      ['Service', internal ? code(svcName) : svcName ? h('a', { href: objectHref('http', 'services', svcName) }, svcName) : '—'],
      explain ? ['Try it', h('a', { href: explain }, 'Explain a request to this router')] : null,
    ])),
  ];
}

function serviceNode(name, svc, internal) {
  if (internal) return { label: name, sub: "Ferry's own service" };
  if (!svc) return { label: name || '—', sub: 'does not exist', tone: 'bad', mark: 'bad' };
  const n = svc.loadBalancer && svc.loadBalancer.servers ? svc.loadBalancer.servers.length : 0;
  const states = Object.values(svc.serverStatus || {});
  const up = states.filter((x) => x === 'UP').length;
  const noneUp = svc.status === 'enabled' && states.length > 0 && up === 0;
  const servers = states.length ? ` · ${up} of ${states.length} UP` : n ? ` · ${n} server${n === 1 ? '' : 's'}` : '';
  return { label: name, href: objectHref('http', 'services', name), sub: kindOf(svc, STATE_KEYS) + servers,
    title: noneUp ? 'No server is UP: requests get 503' : '', tone: noneUp ? 'bad' : tone(svc.status), mark: svc.status === 'enabled' && !noneUp ? 'ok' : 'bad' };
}

// targetNodes are what a service sends to: servers with their health, or services.
function targetNodes(svc) {
  if (svc.loadBalancer) {
    return (svc.loadBalancer.servers || []).map((srv) => {
      const st = (svc.serverHealth && svc.serverHealth[srv.url]) || { status: (svc.serverStatus || {})[srv.url] || '' };
      const status = (st.status || '').toLowerCase();
      const https = srv.url.startsWith('https://');
      return { label: srv.url.replace(/^[a-z0-9]+:\/\//, ''), title: [srv.url, st.lastError].filter(Boolean).join('\n'),
        sub: [st.status || 'not served', https ? 'https' : '', srv.weight != null ? `weight ${srv.weight}` : '', st.inFlight ? `${st.inFlight} in flight` : ''].filter(Boolean).join(' · '),
        tone: status ? tone(status) : 'none', mark: status === 'up' ? 'ok' : status === 'down' ? 'bad' : status ? 'pending' : null };
    });
  }
  return childServices(svc).map((c) => ({ label: c.name, sub: c.note, href: objectHref('http', 'services', c.name) }));
}

function childServices(svc) {
  if (svc.weighted) return (svc.weighted.services || []).map((c) => ({ name: c.name, note: `weight ${c.weight == null ? 1 : c.weight}` }));
  if (svc.mirroring) return [{ name: svc.mirroring.service, note: 'main' }, ...(svc.mirroring.mirrors || []).map((m) => ({ name: m.name, note: `mirror ${m.percent || 0} %` }))];
  if (svc.failover) return [{ name: svc.failover.service, note: 'main' }, { name: svc.failover.fallback, note: 'fallback' }];
  return [];
}

// explainHref prefills the explain form with a request the rule names.
function explainHref(rule, tls) {
  const host = /Host\(\s*[`"]([^`"]+)[`"]/.exec(rule || '');
  if (!host) return null;
  const path = /Path(?:Prefix)?\(\s*[`"]([^`"]+)[`"]/.exec(rule) || [null, '/'];
  return '#/explain?url=' + encodeURIComponent(`${tls ? 'https' : 'http'}://${host[1]}${path[1]}`);
}

async function serviceParts(svc, root) {
  const parts = [];
  const kids = svc.loadBalancer ? [] : childServices(svc);
  const infos = await Promise.all(kids.map((c) => getOptional(objectPath('http', 'services', c.name), null)));
  const targets = svc.loadBalancer ? targetNodes(svc) : kids.map((c, i) => ({ ...serviceNode(c.name, infos[i], false), sub: c.note }));
  const groups = [
    { title: 'Used by', nodes: (svc.usedBy || []).map((r) => ({ label: r, href: objectHref('http', 'routers', r) })) },
    { title: 'Service', nodes: [serviceNode(svc.name, svc, false)] },
    { title: svc.loadBalancer ? 'Servers' : 'Services', nodes: targets },
  ];
  parts.push(section('Request path', chainDiagram(groups, width(root))));
  if (svc.loadBalancer) parts.push(section('Servers', serverTable(svc)), healthPanel(svc.loadBalancer));
  else {
    parts.push(section('Services', h('div', { class: 'table-wrap' }, h('table', { class: 'list' },
      h('thead', null, h('tr', null, ['Status', 'Service', 'Role', 'Servers'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', null, kids.map((c, i) => h('tr', null,
        h('td', { 'data-label': 'Status' }, infos[i] ? statusBadge(infos[i].status) : statusBadge('disabled', 'does not exist')),
        h('td', { 'data-label': 'Service' }, h('a', { href: objectHref('http', 'services', c.name) }, c.name)),
        h('td', { 'data-label': 'Role' }, c.note),
        h('td', { 'data-label': 'Servers' }, infos[i] ? serverCounts(infos[i]) : '—'))))))));
  }
  parts.push(section('Used by', chips(svc.usedBy, (r) => objectHref('http', 'routers', r))));
  return parts;
}

function serverCounts(svc) {
  const st = Object.values(svc.serverStatus || {});
  if (!st.length) return '—';
  const up = st.filter((s) => s === 'UP').length;
  return `${up} of ${st.length} UP`;
}

function serverTable(svc) {
  const servers = svc.loadBalancer.servers || [];
  if (!servers.length) return empty('No server: every request gets 503.');
  return h('div', { class: 'table-wrap' }, h('table', { class: 'list servers' },
    h('thead', null, h('tr', null, ['Status', 'URL', 'Weight', 'In flight', 'Last error', 'Since'].map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', null, servers.map((srv) => {
      const st = (svc.serverHealth && svc.serverHealth[srv.url]) || {};
      return h('tr', { 'data-url': srv.url },
        h('td', { 'data-label': 'Status' }, st.status ? statusBadge(st.status) : h('span', { class: 'muted' }, 'not served')),
        h('td', { 'data-label': 'URL' }, code(srv.url)),
        h('td', { 'data-label': 'Weight' }, srv.weight == null ? '1' : String(srv.weight)),
        h('td', { 'data-label': 'In flight' }, fmtInt(st.inFlight || 0)),
        h('td', { 'data-label': 'Last error', class: st.lastError ? 'tone-bad' : 'muted' }, st.lastError || '—'),
        h('td', { 'data-label': 'Since' }, st.lastChange ? h('time', { datetime: st.lastChange, title: fmtDate(st.lastChange) }, timeAgo(st.lastChange)) : '—'));
    }))));
}

function healthPanel(lb) {
  const hc = lb.healthCheck;
  const rows = [
    ['Strategy', lb.strategy || 'wrr'],
    ['Active health check', hc ? code(`${hc.method || 'GET'} ${hc.scheme ? hc.scheme + '://' : ''}…${hc.path || '/'}${hc.port ? ' port ' + hc.port : ''}`) : 'none'],
    hc ? ['Check every', `${hc.interval || 'default interval'}${hc.unhealthyInterval ? `, ${hc.unhealthyInterval} while down` : ''}${hc.timeout ? `, timeout ${hc.timeout}` : ''}`] : null,
    ['Passive health check', lb.passiveHealthCheck ? code(JSON.stringify(lb.passiveHealthCheck)) : 'none'],
    ['Sticky sessions', lb.sticky ? code(JSON.stringify(lb.sticky)) : 'no'],
    ['Pass Host header', lb.passHostHeader === false ? 'no' : 'yes'],
  ];
  return section('Balancing and health', props(rows));
}

function middlewareParts(mw) {
  const type = kindOf(mw, STATE_KEYS);
  return [section('Settings', props([['Type', code(type || '—')], ['Used by', chips(mw.usedBy, (r) => objectHref('http', 'routers', r))]])),
    type ? section(type, h('pre', { class: 'config' }, JSON.stringify(mw[type], null, 2))) : null];
}

function layer4Parts(proto, kind, obj) {
  if (kind === 'routers') {
    const groups = [
      { title: 'Entry points', nodes: (obj.using || obj.entryPoints || []).map((e) => ({ label: e })) },
      { title: 'Router', nodes: [{ label: obj.name, sub: obj.rule || '', tone: tone(obj.status), mark: obj.status === 'enabled' ? 'ok' : 'bad' }] },
      { title: 'Service', nodes: obj.service ? [{ label: obj.service, href: objectHref(proto, 'services', obj.service) }] : [] },
    ];
    return [section('Connection path', chainDiagram(groups, 900)), section('Settings', props([
      obj.rule ? ['Rule', code(obj.rule, 'rule')] : null,
      ['Entry points', chips(obj.using || obj.entryPoints)],
      proto === 'tcp' ? ['TLS', obj.tls ? (obj.tls.passthrough ? 'passthrough' : 'terminated by Ferry') : 'no'] : null,
      ['Service', obj.service ? h('a', { href: objectHref(proto, 'services', obj.service) }, obj.service) : '—'],
    ]))];
  }
  const servers = Object.entries(obj.serverStatus || {});
  return [
    servers.length ? section('Servers', h('ul', { class: 'plain' }, servers.map(([u, st]) => h('li', null, statusBadge(st), ' ', code(u))))) : null,
    section('Used by', chips(obj.usedBy, (r) => objectHref(proto, 'routers', r))),
  ];
}
