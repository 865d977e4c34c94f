package configs

import (
	"reflect"
	"strings"
	"testing"

	"github.com/ferryproxy/ferry/providers/kubernetes/gateway"
)

// TestStaticKubernetesGateway checks that providers.kubernetesGateway
// decodes, gets Ferry's entry points, and reports bad options with their path.
func TestStaticKubernetesGateway(t *testing.T) {
	const doc = `
entryPoints:
  web:
    address: ":80"
  websecure:
    address: "127.0.0.1:443"
  dns:
    address: ":53/udp"
providers:
  kubernetesGateway:
    endpoint: https://10.0.0.1:6443
    token: secret
    certAuthFilePath: ca.crt
    namespaces: [apps]
    labelSelector: app=ferry
    statusAddress:
      ip: 203.0.113.10
      service: {namespace: ferry, name: ferry}
`
	s, problems := Parse([]byte(doc), "ferry.yaml", "/etc/ferry")
	if len(problems) > 0 {
		t.Fatalf("problems: %v", problems)
	}
	o := s.KubernetesGatewayOptions()
	if o == nil || o.Endpoint != "https://10.0.0.1:6443" || o.CertAuthFilePath != "/etc/ferry/ca.crt" ||
		o.LabelSelector != "app=ferry" || o.StatusAddress.Service.Name != "ferry" {
		t.Fatalf("options: %+v", o)
	}
	want := []gateway.EntryPoint{{Name: "dns", Port: 53, UDP: true}, {Name: "web", Port: 80}, {Name: "websecure", Port: 443}}
	if !reflect.DeepEqual(o.EntryPoints, want) {
		t.Errorf("entry points %+v, want %+v", o.EntryPoints, want)
	}

	for bad, want := range map[string]string{
		"    labelSelector: 'a in (b'\n":            "providers.kubernetesGateway: kubernetesGateway: labelSelector",
		"    statusAddress: {service: {name: x}}\n": "statusAddress.service: want namespace and name",
		"    endpoint: 10.0.0.1:6443\n":             "want an http:// or https:// URL",
		"    entryPoints: {web: 80}\n":              "providers.kubernetesGateway.entryPoints",
	} {
		_, problems := Parse([]byte("entryPoints: {web: {address: ':80'}}\nproviders:\n  kubernetesGateway:\n"+bad), "ferry.yaml", "")
		if !strings.Contains(strings.Join(problems, "\n"), want) {
			t.Errorf("%q: problems %v, want one containing %q", bad, problems, want)
		}
	}
	if (&Static{}).KubernetesGatewayOptions() != nil {
		t.Error("options without the provider")
	}
}
