package ingress

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/ferryproxy/ferry/router/config"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// fixture holds the objects of one testdata YAML file and serves them to
// the build as the informers' caches would.
type fixture struct {
	ingresses []*networkingv1.Ingress
	classes   []*networkingv1.IngressClass
	services  map[string]*corev1.Service
	slices    map[string][]*discoveryv1.EndpointSlice
	secrets   map[string]*corev1.Secret
}

func (f *fixture) Service(ns, name string) *corev1.Service { return f.services[key(ns, name)] }
func (f *fixture) Secret(ns, name string) *corev1.Secret   { return f.secrets[key(ns, name)] }
func (f *fixture) EndpointSlices(ns, svc string) []*discoveryv1.EndpointSlice {
	return f.slices[key(ns, svc)]
}

// loadFixture decodes the documents of testdata/<name>.yaml.
func loadFixture(t *testing.T, name string) *fixture {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name+".yaml"))
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{services: map[string]*corev1.Service{}, slices: map[string][]*discoveryv1.EndpointSlice{},
		secrets: map[string]*corev1.Secret{}}
	dec := scheme.Codecs.UniversalDeserializer()
	for i, doc := range strings.Split(string(data), "\n---\n") {
		obj, _, err := dec.Decode([]byte(doc), nil, nil)
		if err != nil {
			t.Fatalf("%s.yaml document %d: %v", name, i, err)
		}
		switch o := obj.(type) {
		case *networkingv1.Ingress:
			f.ingresses = append(f.ingresses, o)
		case *networkingv1.IngressClass:
			f.classes = append(f.classes, o)
		case *corev1.Service:
			f.services[key(o.Namespace, o.Name)] = o
		case *discoveryv1.EndpointSlice:
			k := key(o.Namespace, o.Labels[discoveryv1.LabelServiceName])
			f.slices[k] = append(f.slices[k], o)
		case *corev1.Secret:
			for k, v := range o.StringData { // as the API server does
				if o.Data == nil {
					o.Data = map[string][]byte{}
				}
				o.Data[k] = []byte(v)
			}
			f.secrets[key(o.Namespace, o.Name)] = o
		default:
			t.Fatalf("%s.yaml document %d: unexpected %T", name, i, obj)
		}
	}
	return f
}

// goldenResult is what a golden file holds.
type goldenResult struct {
	Config   *config.Config      `json:"config"`
	Problems []config.Problem    `json:"problems"`
	Origins  map[string]string   `json:"origins"`
	Served   []string            `json:"served"`
	Services []string            `json:"services"`
	Secrets  []string            `json:"secrets"`
	Invalid  map[string][]string `json:"invalid,omitempty"`
	Notes    map[string][]string `json:"notes,omitempty"`
}

func golden(t *testing.T, name string, got any) {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(got); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if string(want) != string(data) {
		t.Errorf("%s differs from the golden file (run with -update to accept):\n--- got\n%s\n--- want\n%s", path, data, want)
	}
}

func TestBuild(t *testing.T) {
	tests := []struct {
		name    string
		fixture string // default: name
		opts    buildOptions
	}{
		{name: "basic"},
		{name: "native_by_default", fixture: "basic", opts: buildOptions{nativeLBByDefault: true}},
		{name: "classes_default", fixture: "classes"},
		{name: "classes_named", fixture: "classes", opts: buildOptions{ingressClass: "internal"}},
		{name: "hosts_paths"},
		{name: "tls"},
		{name: "annotations"},
		{name: "services"},
		{name: "services_allowing", fixture: "services", opts: buildOptions{allowEmptyServices: true, allowExternalNameServices: true}},
		{name: "default_backend"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fx := tt.fixture
			if fx == "" {
				fx = tt.name
			}
			f := loadFixture(t, fx)
			res := build(f.ingresses, f.classes, f, &tt.opts)
			g := goldenResult{Config: res.config, Problems: res.problems, Origins: map[string]string{},
				Served: []string{}, Invalid: res.invalid, Notes: res.notes,
				Services: sortedKeys(res.services), Secrets: sortedKeys(res.secrets)}
			for id, o := range res.origins {
				g.Origins[string(id.Kind)+" "+id.Name] = o
			}
			for _, ing := range res.served {
				g.Served = append(g.Served, key(ing.Namespace, ing.Name))
			}
			golden(t, "build_"+tt.name, g)
			// The build is deterministic, whatever the input order.
			rev := make([]*networkingv1.Ingress, len(f.ingresses))
			for i, ing := range f.ingresses {
				rev[len(rev)-1-i] = ing
			}
			if again := build(rev, f.classes, f, &tt.opts); !reflect.DeepEqual(again.config, res.config) || !reflect.DeepEqual(again.problems, res.problems) {
				t.Errorf("the build depends on the order of the Ingresses")
			}
		})
	}
}

func TestServesDefaultClass(t *testing.T) {
	ferry := &networkingv1.IngressClass{Spec: networkingv1.IngressClassSpec{Controller: Controller}}
	ferry.Name = "edge"
	noClass := &networkingv1.Ingress{}
	b := &builder{o: &buildOptions{ingressClass: "edge"}}
	names, def := b.classes([]*networkingv1.IngressClass{ferry})
	if b.serves(noClass, names, def) {
		t.Errorf("an Ingress without class is served by a named ingressClass that is not the default")
	}
	ferry.Annotations = map[string]string{annotationDefaultClass: "true"}
	names, def = b.classes([]*networkingv1.IngressClass{ferry})
	if !b.serves(noClass, names, def) {
		t.Errorf("an Ingress without class is not served though Ferry's class is the default")
	}
}

func TestLoadBalancerStatus(t *testing.T) {
	lbSvc := &corev1.Service{Status: corev1.ServiceStatus{LoadBalancer: corev1.LoadBalancerStatus{
		Ingress: []corev1.LoadBalancerIngress{{IP: "203.0.113.7"}, {Hostname: "lb.example.net"}}}}}
	extIPs := &corev1.Service{Spec: corev1.ServiceSpec{ExternalIPs: []string{"198.51.100.1"}}}
	extName := &corev1.Service{Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "edge.example.net"}}
	tests := []struct {
		name string
		e    IngressEndpoint
		svc  *corev1.Service
		want string // "" when nothing is written
	}{
		{"ip", IngressEndpoint{IP: "192.0.2.10"}, nil, `[{"ip":"192.0.2.10"}]`},
		{"ip and hostname", IngressEndpoint{IP: "192.0.2.10", Hostname: "ferry.example.com"}, nil, `[{"ip":"192.0.2.10","hostname":"ferry.example.com"}]`},
		{"nothing", IngressEndpoint{}, nil, ""},
		{"published load balancer", IngressEndpoint{PublishedService: "ferry/ferry"}, lbSvc, `[{"ip":"203.0.113.7"},{"hostname":"lb.example.net"}]`},
		{"published external IPs", IngressEndpoint{PublishedService: "ferry/ferry"}, extIPs, `[{"ip":"198.51.100.1"}]`},
		{"published external name", IngressEndpoint{PublishedService: "ferry/ferry"}, extName, `[{"hostname":"edge.example.net"}]`},
		{"published missing", IngressEndpoint{PublishedService: "ferry/ferry"}, nil, ""},
		{"published without address", IngressEndpoint{PublishedService: "ferry/ferry"}, &corev1.Service{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, ok := loadBalancerStatus(&tt.e, tt.svc)
			got := ""
			if ok {
				b, _ := json.Marshal(st.Ingress)
				got = string(b)
			}
			if got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestPathRule(t *testing.T) {
	pt := func(s networkingv1.PathType) *networkingv1.PathType { return &s }
	tests := []struct {
		path    string
		typ     *networkingv1.PathType
		matcher string
		want    string
	}{
		{"/", pt(networkingv1.PathTypePrefix), "", "PathPrefix(`/`)"},
		{"/foo", pt(networkingv1.PathTypePrefix), "", "(Path(`/foo`) || PathPrefix(`/foo/`))"},
		{"/foo/", pt(networkingv1.PathTypePrefix), "", "(Path(`/foo`) || PathPrefix(`/foo/`))"},
		{"/foo", pt(networkingv1.PathTypeExact), "", "Path(`/foo`)"},
		{"/foo", nil, "", "PathPrefix(`/foo`)"},
		{"/foo", pt(networkingv1.PathTypeImplementationSpecific), "Path", "Path(`/foo`)"},
		{"", nil, "", ""},
		{"foo", pt(networkingv1.PathTypePrefix), "", "error"},
		{"/a", pt("Glob"), "", "error"},
	}
	for _, tt := range tests {
		got, err := pathRule(networkingv1.HTTPIngressPath{Path: tt.path, PathType: tt.typ}, tt.matcher)
		if err != nil {
			got = "error"
		}
		if got != tt.want {
			t.Errorf("pathRule(%q, %v, %q) = %s, want %s", tt.path, deref(tt.typ), tt.matcher, got, tt.want)
		}
	}
}

func deref(p *networkingv1.PathType) string {
	if p == nil {
		return "<nil>"
	}
	return fmt.Sprint(*p)
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// BenchmarkBuild1000 builds the view of 1,000 Ingresses, each with its own
// Service of 3 endpoints: the work done on every change at that scale.
func BenchmarkBuild1000(b *testing.B) {
	f := &fixture{services: map[string]*corev1.Service{}, slices: map[string][]*discoveryv1.EndpointSlice{}, secrets: map[string]*corev1.Secret{}}
	prefix := networkingv1.PathTypePrefix
	port, ready := int32(8080), true
	for i := range 1000 {
		name := fmt.Sprintf("s%d", i)
		svc := &corev1.Service{Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80}}}}
		svc.Name, svc.Namespace = name, "default"
		f.services[key("default", name)] = svc
		sl := &discoveryv1.EndpointSlice{Ports: []discoveryv1.EndpointPort{{Name: ptr("http"), Port: &port}}}
		for j := range 3 {
			sl.Endpoints = append(sl.Endpoints, discoveryv1.Endpoint{Addresses: []string{fmt.Sprintf("10.%d.%d.%d", i/250, i%250, j)},
				Conditions: discoveryv1.EndpointConditions{Ready: &ready}})
		}
		f.slices[key("default", name)] = []*discoveryv1.EndpointSlice{sl}
		ing := &networkingv1.Ingress{Spec: networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{{Host: name + ".example.com",
			IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{{
				Path: "/", PathType: &prefix, Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
					Name: name, Port: networkingv1.ServiceBackendPort{Number: 80}}}}}}}}}}}
		ing.Name, ing.Namespace = name, "default"
		f.ingresses = append(f.ingresses, ing)
	}
	o := &buildOptions{}
	b.ReportAllocs()
	for b.Loop() {
		if res := build(f.ingresses, nil, f, o); len(res.config.HTTP.Routers) != 1000 {
			b.Fatalf("%d routers", len(res.config.HTTP.Routers))
		}
	}
}

func ptr[T any](v T) *T { return &v }
