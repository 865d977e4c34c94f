package configs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestStaticKubernetesIngress checks that providers.kubernetesIngress
// decodes under Traefik's names, that its CA path is resolved against the
// file's directory, and that bad options are reported with their path.
func TestStaticKubernetesIngress(t *testing.T) {
	const base = `
entryPoints:
  web:
    address: ":80"
providers:
  kubernetesIngress:
    endpoint: https://192.0.2.1:6443
    token: abc
    certAuthFilePath: ca.crt
    namespaces: [apps, shop]
    labelSelector: %s
    ingressClass: ferry
    ingressEndpoint:
      publishedService: %s
    allowEmptyServices: true
    allowExternalNameServices: true
    nativeLBByDefault: true
    throttleDuration: 2s
`
	tests := []struct {
		name, selector, published, problem string
	}{
		{"valid", "expose=true", "ferry/ferry", ""},
		{"bad selector", "app in (a", "ferry/ferry", "providers.kubernetesIngress: labelSelector"},
		{"bad published service", "expose=true", "ferry", "providers.kubernetesIngress: ingressEndpoint.publishedService"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := strings.Replace(strings.Replace(base, "%s", tt.selector, 1), "%s", tt.published, 1)
			s, problems := Parse([]byte(data), "ferry.yaml", "/etc/ferry")
			if tt.problem == "" {
				if len(problems) > 0 {
					t.Fatalf("problems: %v", problems)
				}
				k := s.Providers.KubernetesIngress
				if k == nil || k.Endpoint != "https://192.0.2.1:6443" || k.CertAuthFilePath != "/etc/ferry/ca.crt" ||
					len(k.Namespaces) != 2 || k.IngressEndpoint.PublishedService != "ferry/ferry" || !k.NativeLBByDefault {
					t.Errorf("decoded: %+v", k)
				}
				return
			}
			if len(problems) != 1 || !strings.Contains(problems[0], tt.problem) {
				t.Errorf("problems %v, want one containing %q", problems, tt.problem)
			}
		})
	}
}

// TestKubernetesManifestStatic checks that the static file in the ConfigMap
// of configs/kubernetes/ferry.yaml is a valid configuration.
func TestKubernetesManifestStatic(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("kubernetes", "ferry.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	found := false
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	for {
		var doc struct {
			Kind string            `yaml:"kind"`
			Data map[string]string `yaml:"data"`
		}
		if err := dec.Decode(&doc); err != nil {
			break
		}
		if doc.Kind != "ConfigMap" {
			continue
		}
		found = true
		s, problems := Parse([]byte(doc.Data["ferry.yaml"]), "ConfigMap ferry-config", "/etc/ferry")
		if len(problems) > 0 {
			t.Fatalf("the ConfigMap's static file: %v", problems)
		}
		if s.Providers.KubernetesIngress == nil || s.Providers.KubernetesIngress.Endpoint != "" {
			t.Errorf("the ConfigMap's kubernetesIngress should use the pod's in-cluster configuration: %+v", s.Providers.KubernetesIngress)
		}
	}
	if !found {
		t.Fatal("no ConfigMap in configs/kubernetes/ferry.yaml")
	}
}
