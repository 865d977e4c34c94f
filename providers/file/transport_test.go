package file

import (
	"strings"
	"testing"

	"github.com/ferryproxy/ferry/router/config"
)

// TestParseServersTransports: transports from files get origins (file:line)
// and their decode problems; one defined in two files is a problem.
func TestParseServersTransports(t *testing.T) {
	a, err := parseFile("/etc/ferry/a.yaml", []byte(`http:
  serversTransports:
    private:
      rootCAs: [/etc/ca.pem]
      maxIdleConnsPerHost: many
  services:
    app:
      loadBalancer:
        servers: [{url: "https://10.0.0.1"}]
        serversTransport: private
tcp:
  serversTransports:
    tlsup:
      tls: {insecureSkipVerify: true}
`))
	if err != nil {
		t.Fatal(err)
	}
	b, err := parseFile("/etc/ferry/b.yaml", []byte(`http:
  serversTransports:
    private:
      insecureSkipVerify: true
`))
	if err != nil {
		t.Fatal(err)
	}
	res, _ := merge([]*fileConfig{a, b}, nil)
	if tr := res.Config.HTTP.ServersTransports["private"]; tr == nil || tr.RootCAs[0] != "/etc/ca.pem" {
		t.Errorf("the first definition is not kept: %+v", tr)
	}
	if res.Config.TCP.ServersTransports["tlsup"] == nil || res.Config.HTTP.Services["app"].LoadBalancer.ServersTransport != "private" {
		t.Errorf("config: %+v", res.Config)
	}
	for id, want := range map[config.ObjectID]string{
		{Kind: config.KindServersTransport, Name: "private"}:  "/etc/ferry/a.yaml:3",
		{Kind: config.KindTCPServersTransport, Name: "tlsup"}: "/etc/ferry/a.yaml:13",
	} {
		if got := res.Origins[id]; got != want {
			t.Errorf("origin of %v: %q, want %q", id, got, want)
		}
	}
	var got []string
	for _, p := range res.Problems {
		got = append(got, p.Error())
	}
	want := []string{
		`serversTransport private: defined in both /etc/ferry/a.yaml:3 and /etc/ferry/b.yaml:3; the first is used`,
		`serversTransport private: maxIdleConnsPerHost: /etc/ferry/a.yaml:5: `,
	}
	if len(got) != 2 || got[0] != want[0] || !strings.HasPrefix(got[1], want[1]) {
		t.Errorf("problems:\n%s\nwant\n%s…", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
