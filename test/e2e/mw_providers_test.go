package e2e

import (
	"net/http"
	"sort"
	"strings"
	"testing"
)

// mwGatewayKeys are the label (and tag) keys and values that configure a
// gateway on host: basicAuth → headers → compress in front of the service
// gw, plus a router whose auth middleware name has a typo.
func mwGatewayKeys(host, typoHost string) map[string]string {
	return map[string]string{
		"ferry.enable":                        "true",
		"ferry.http.routers.gw.rule":          "Host(`" + host + "`)",
		"ferry.http.routers.gw.service":       "gw",
		"ferry.http.routers.gw.middlewares":   "gw-auth,gw-hdr,gw-gzip",
		"ferry.http.routers.typo.rule":        "Host(`" + typoHost + "`)",
		"ferry.http.routers.typo.service":     "gw",
		"ferry.http.routers.typo.middlewares": "gw-auht",
		// alice:secret and apr:secret
		"ferry.http.middlewares.gw-auth.basicauth.users":                   "alice:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=,apr:$apr1$saltsalt$LrttParrLPdxvgutaSXWJ0",
		"ferry.http.middlewares.gw-auth.basicauth.headerfield":             "X-User",
		"ferry.http.middlewares.gw-hdr.headers.customrequestheaders.X-Env": "prod",
		"ferry.http.middlewares.gw-hdr.headers.framedeny":                  "true",
		"ferry.http.middlewares.gw-gzip.compress.minresponsebodybytes":     "100",
	}
}

// mwCheckGateway checks the gateway of mwGatewayKeys through f: the
// configuration came from labels or tags, the behaviour is the file's.
func mwCheckGateway(t *testing.T, f *Ferry, host, typoHost, backend string) {
	t.Helper()
	f.WaitRoute(host, "/", http.StatusUnauthorized, "")
	for _, u := range []string{"alice", "apr"} {
		hdr := mwBasic(u, "secret")
		hdr.Set("Accept-Encoding", "gzip")
		res := mwDo(f, "GET", host, "/", hdr)
		if res.Status != http.StatusOK || res.Backend() != backend {
			t.Fatalf("%s: %d from %q, want 200 from %s", u, res.Status, res.Backend(), backend)
		}
		if res.Header.Get("Content-Encoding") != "gzip" || res.Header.Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s: Content-Encoding %q X-Frame-Options %q, want gzip and DENY", u,
				res.Header.Get("Content-Encoding"), res.Header.Get("X-Frame-Options"))
		}
		body := string(mwDecode(t, res.Header.Get("Content-Encoding"), res.Body))
		if !strings.Contains(body, `"X-User":["`+u+`"]`) || !strings.Contains(body, `"X-Env":["prod"]`) {
			t.Errorf("%s: the app saw %s", u, body)
		}
	}
	if res := mwDo(f, "GET", host, "/", mwBasic("alice", "wrong")); res.Status != http.StatusUnauthorized {
		t.Errorf("wrong password: %d, want 401", res.Status)
	}
	if res := mwDo(f, "GET", typoHost, "/", mwBasic("alice", "secret")); res.Status != http.StatusNotFound {
		t.Errorf("router with a typo in its auth middleware: %d, want 404", res.Status)
	}
	list, _ := f.Routers()
	for _, r := range list {
		if strings.HasPrefix(r.Name, "typo@") {
			if r.Status != "disabled" || !strings.Contains(strings.Join(r.Error, " "), "gw-auht") {
				t.Errorf("%s: %q %q, want disabled naming gw-auht", r.Name, r.Status, r.Error)
			}
			return
		}
	}
	t.Errorf("no typo router in the API")
}

func TestMiddlewareDockerLabels(t *testing.T) {
	e := newDockerEnv(t)
	front := e.network("mw")
	f := startDockerFerry(t, e.Host, "    exposedByDefault: false\n    network: "+front)
	labels := mwGatewayKeys("gw.docker.test", "typo.docker.test")
	labels["ferry.http.services.gw.loadbalancer.server.port"] = "8080"
	c := e.start(ctrSpec{Name: e.name("mwgw"), Networks: []string{front}, Labels: labels})
	defer c.remove()
	mwCheckGateway(t, f, "gw.docker.test", "typo.docker.test", c.Name)
}

func TestMiddlewareConsulTags(t *testing.T) {
	t.Parallel()
	c := StartConsul(t)
	app := StartBackend(t, "app", nil)
	f := StartFerryWith(t, consulCatalogProviders(c.Addr))
	kv := mwGatewayKeys("gw.consul.test", "typo.consul.test")
	tags := make([]string, 0, len(kv))
	for k, v := range kv {
		tags = append(tags, k+"="+v)
	}
	sort.Strings(tags)
	c.Register("gw", "gw-1", app, tags...)
	mwCheckGateway(t, f, "gw.consul.test", "typo.consul.test", "app")
}
