package gateway

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
	gwscheme "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned/scheme"
	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got, as indented JSON, with testdata/<name>.golden.
func golden(t *testing.T, name string, got any) {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(got); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(want, buf.Bytes()) {
		t.Errorf("%s differs from the golden file (run with -update to accept):\n--- got\n%s", path, buf.Bytes())
	}
}

// loadSnapshot reads the Kubernetes objects of a multi-document YAML file
// into a Snapshot, as the informers would list them. A Secret's stringData
// is folded into data, as the API server does.
func loadSnapshot(t *testing.T, path string) *Snapshot {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sch := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, gwscheme.AddToScheme} {
		if err := add(sch); err != nil {
			t.Fatal(err)
		}
	}
	dec := serializer.NewCodecFactory(sch).UniversalDeserializer()
	s := &Snapshot{}
	for i, doc := range strings.Split(string(raw), "\n---") {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		js, err := yaml.YAMLToJSON([]byte(doc))
		if err != nil {
			t.Fatalf("%s: document %d: %v", path, i, err)
		}
		obj, _, err := dec.Decode(js, nil, nil)
		if err != nil {
			t.Fatalf("%s: document %d: %v", path, i, err)
		}
		if err := addObject(s, obj); err != nil {
			t.Fatalf("%s: document %d: %v", path, i, err)
		}
	}
	return s
}

func addObject(s *Snapshot, obj runtime.Object) error {
	switch o := obj.(type) {
	case *gwv1.GatewayClass:
		s.GatewayClasses = append(s.GatewayClasses, o)
	case *gwv1.Gateway:
		defaultNamespace(&o.Namespace)
		s.Gateways = append(s.Gateways, o)
	case *gwv1.HTTPRoute:
		defaultNamespace(&o.Namespace)
		s.HTTPRoutes = append(s.HTTPRoutes, o)
	case *gwv1.GRPCRoute:
		defaultNamespace(&o.Namespace)
		s.GRPCRoutes = append(s.GRPCRoutes, o)
	case *gwv1.TLSRoute:
		defaultNamespace(&o.Namespace)
		s.TLSRoutes = append(s.TLSRoutes, o)
	case *gwv1.TCPRoute:
		defaultNamespace(&o.Namespace)
		s.TCPRoutes = append(s.TCPRoutes, o)
	case *gwv1.UDPRoute:
		defaultNamespace(&o.Namespace)
		s.UDPRoutes = append(s.UDPRoutes, o)
	case *gwv1.ReferenceGrant:
		defaultNamespace(&o.Namespace)
		s.ReferenceGrants = append(s.ReferenceGrants, o)
	case *corev1.Namespace:
		s.Namespaces = append(s.Namespaces, o)
	case *corev1.Service:
		defaultNamespace(&o.Namespace)
		s.Services = append(s.Services, o)
	case *discoveryv1.EndpointSlice:
		defaultNamespace(&o.Namespace)
		s.EndpointSlices = append(s.EndpointSlices, o)
	case *corev1.Secret:
		defaultNamespace(&o.Namespace)
		if o.Data == nil {
			o.Data = map[string][]byte{}
		}
		for k, v := range o.StringData {
			o.Data[k] = []byte(v)
		}
		o.StringData = nil
		s.Secrets = append(s.Secrets, o)
	default:
		return fmt.Errorf("unexpected object %T", obj)
	}
	return nil
}

func defaultNamespace(ns *string) {
	if *ns == "" {
		*ns = "default"
	}
}

// testOptions are the build options of the table tests: Ferry listens on
// web (80), websecure (443), alt (8080), tls (8443), tcp (9000) and dns
// (53/udp).
func testOptions() *buildOptions {
	ip := gwv1.IPAddressType
	return &buildOptions{
		controller: ControllerName,
		entryPoints: []EntryPoint{
			{Name: "alt", Port: 8080},
			{Name: "dns", Port: 53, UDP: true},
			{Name: "tcp", Port: 9000},
			{Name: "tls", Port: 8443},
			{Name: "web", Port: 80},
			{Name: "websecure", Port: 443},
		},
		addresses: []gwv1.GatewayStatusAddress{{Type: &ip, Value: "192.0.2.10"}},
		kinds:     map[string]bool{kindHTTPRoute: true, kindGRPCRoute: true, kindTLSRoute: true, kindTCPRoute: true, kindUDPRoute: true},
	}
}
