package decode

import (
	"testing"

	"github.com/ferryproxy/ferry/router/config"
)

func TestTCPLabelsAndKeys(t *testing.T) {
	tests := []struct {
		name string
		kv   map[string]string
		sep  byte
	}{
		{"labels", map[string]string{
			"ferry.tcp.routers.db.rule":                                "HostSNI(`db.test`)",
			"ferry.tcp.routers.db.entrypoints":                         "websecure",
			"ferry.tcp.routers.db.tls.passthrough":                     "true",
			"ferry.tcp.routers.db.service":                             "pg",
			"ferry.tcp.routers.raw.rule":                               "HostSNI(`*`)",
			"ferry.tcp.routers.raw.tls":                                "true",
			"ferry.tcp.routers.raw.service":                            "pg",
			"ferry.tcp.services.pg.loadbalancer.servers.0.address":     "10.0.0.1:5432",
			"ferry.tcp.services.pg.loadbalancer.servers.1.address":     "10.0.0.2:5432",
			"ferry.tcp.services.pg.loadbalancer.servers.1.weight":      "2",
			"ferry.tcp.services.pg.loadbalancer.proxyprotocol.version": "1",
			"ferry.tcp.services.mix.weighted.services.0.name":          "pg",
			"ferry.tcp.services.mix.weighted.services.0.weight":        "3",
			"ferry.tcp.services.pg.loadbalancer.terminationdelay":      "250ms",
		}, '.'},
		{"keys", map[string]string{
			"ferry/tcp/routers/db/rule":                                "HostSNI(`db.test`)",
			"ferry/tcp/routers/db/entryPoints/0":                       "websecure",
			"ferry/tcp/routers/db/tls/passthrough":                     "true",
			"ferry/tcp/routers/db/service":                             "pg",
			"ferry/tcp/routers/raw/rule":                               "HostSNI(`*`)",
			"ferry/tcp/routers/raw/tls":                                "true",
			"ferry/tcp/routers/raw/service":                            "pg",
			"ferry/tcp/services/pg/loadBalancer/servers/0/address":     "10.0.0.1:5432",
			"ferry/tcp/services/pg/loadBalancer/servers/1/address":     "10.0.0.2:5432",
			"ferry/tcp/services/pg/loadBalancer/servers/1/weight":      "2",
			"ferry/tcp/services/pg/loadBalancer/proxyProtocol/version": "1",
			"ferry/tcp/services/mix/weighted/services/0/name":          "pg",
			"ferry/tcp/services/mix/weighted/services/0/weight":        "3",
			"ferry/tcp/services/pg/loadBalancer/terminationDelay":      "250ms",
		}, '/'},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := ParsePaths(tt.kv, "ferry", tt.sep)
			if err != nil {
				t.Fatal(err)
			}
			var c config.Config
			if errs := Decode(n, &c); len(errs) > 0 {
				t.Fatalf("decode: %v", errs)
			}
			db, raw := c.TCP.Routers["db"], c.TCP.Routers["raw"]
			if db == nil || db.Rule != "HostSNI(`db.test`)" || db.TLS == nil || !db.TLS.Passthrough ||
				len(db.EntryPoints) != 1 || db.EntryPoints[0] != "websecure" || db.Service != "pg" {
				t.Errorf("router db = %+v", db)
			}
			if raw == nil || raw.TLS == nil || raw.TLS.Passthrough {
				t.Errorf("router raw = %+v, want tls set without passthrough", raw)
			}
			lb := c.TCP.Services["pg"].LoadBalancer
			if lb == nil || len(lb.Servers) != 2 || lb.Servers[1].Address != "10.0.0.2:5432" || lb.Servers[1].ServerWeight() != 2 ||
				lb.ProxyProtocolVersion() != 1 || lb.TerminationDelay.String() != "250ms" {
				t.Errorf("service pg = %+v", lb)
			}
			if w := c.TCP.Services["mix"].Weighted; w == nil || w.Services[0].Name != "pg" || w.Services[0].ServiceWeight() != 3 {
				t.Errorf("service mix = %+v", w)
			}
			if problems := config.Validate(&c); len(problems) > 0 {
				t.Errorf("decoded configuration does not validate: %v", problems)
			}
		})
	}
}
