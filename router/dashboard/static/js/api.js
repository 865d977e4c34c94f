// Reading Ferry's JSON API, from the same origin as the dashboard: the
// dashboard lives at /dashboard/, the API at /api/.

export function apiURL(path) {
  return new URL('../' + path.replace(/^\//, ''), location.href).toString();
}

// NotFound is thrown for a 404, which some endpoints answer when a feature
// is off (the ACME endpoints without a certificate resolver).
export class NotFound extends Error {}

// getJSON fetches and decodes an API path.
export async function getJSON(path) {
  const resp = await fetch(apiURL(path), { headers: { Accept: 'application/json' }, cache: 'no-store' });
  if (resp.status === 404) throw new NotFound(path + ': not found');
  const text = await resp.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`${path}: status ${resp.status}: ${text.slice(0, 200)}`);
  }
  if (!resp.ok) throw new Error(body && body.message ? body.message : `${path}: status ${resp.status}`);
  return body;
}

// getOptional is getJSON that answers fallback for a 404.
export async function getOptional(path, fallback) {
  try {
    return await getJSON(path);
  } catch (e) {
    if (e instanceof NotFound) return fallback;
    throw e;
  }
}

// listPath is the API path of a list of objects.
export function listPath(proto, kind) {
  return `api/${proto}/${kind}`;
}

export function objectPath(proto, kind, name) {
  return `api/${proto}/${kind}/${encodeURIComponent(name)}`;
}
