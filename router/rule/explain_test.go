package rule

import (
	"net/http"
	"testing"
)

func TestExplain(t *testing.T) {
	tests := []struct {
		name string
		rule string
		req  *Request
		want string // Why; "" when the rule matches
	}{
		{"match", "Host(`app.test`) && PathPrefix(`/api`)", get("http://app.test/api/x"), ""},
		{"path prefix fails", "Host(`app.test`) && PathPrefix(`/admin`)", get("http://app.test/api/x"),
			"PathPrefix(`/admin`) did not match path /api/x"},
		{"host fails, port ignored", "Host(`other.test`)", get("http://App.test:8080/"),
			"Host(`other.test`) did not match host app.test"},
		{"two failures of &&", "Host(`x.test`) && Method(`POST`)", get("http://app.test/"),
			"Host(`x.test`) did not match host app.test; Method(`POST`) did not match method GET"},
		{"every branch of || fails", "Path(`/a`) || Path(`/b`)", get("http://app.test/c"),
			"none of: Path(`/a`) did not match path /c; Path(`/b`) did not match path /c"},
		{"one branch of || matches", "Path(`/a`) || Path(`/c`)", get("http://app.test/c"), ""},
		{"negation", "!PathPrefix(`/internal`)", get("http://app.test/internal/x"),
			"!PathPrefix(`/internal`) failed: PathPrefix(`/internal`) matched path /internal/x"},
		{"negated group", "Host(`app.test`) && !(Method(`GET`) && Path(`/x`))", get("http://app.test/x"),
			"!(Method(`GET`) && Path(`/x`)) failed: Method(`GET`) && Path(`/x`) matched method GET, path /x"},
		{"nested inside ||", "Host(`app.test`) && (Header(`X-Env`, `prod`) || Query(`debug`, `1`))",
			get("http://app.test/?debug=0", header("X-Env", "dev")),
			"none of: Header(`X-Env`, `prod`) did not match header X-Env: \"dev\"; Query(`debug`, `1`) did not match query debug=\"0\""},
		{"missing header", "Header(`X-Env`, `prod`)", get("http://app.test/"), "Header(`X-Env`, `prod`) did not match: the request has no header X-Env"},
		{"missing query", "Query(`debug`)", get("http://app.test/"), "Query(`debug`) did not match: the request has no query parameter debug"},
		{"client IP", "ClientIP(`10.0.0.0/8`)", get("http://app.test/", remote("192.0.2.1:4000")),
			"ClientIP(`10.0.0.0/8`) did not match client IP 192.0.2.1"},
		{"unknown client IP", "ClientIP(`10.0.0.0/8`)", get("http://app.test/", remote("")),
			"ClientIP(`10.0.0.0/8`) did not match: the request has no client IP (give one to explain it)"},
		{"regexp", "HostRegexp(`^api\\.`)", get("http://app.test/"), "HostRegexp(`^api\\.`) did not match host app.test"},
		{"host header over URL", "Host(`b.test`)", get("http://a.test/", hostHeader("B.test")), ""},
		{"wildcard host", "Host(`*.example.com`)", get("http://a.b.example.com/"), "Host(`*.example.com`) did not match host a.b.example.com"},
		{"path as sent", "PathPrefix(`/admin/`)", get("http://app.test/admin%2Fx"), "PathPrefix(`/admin/`) did not match path /admin%2Fx"},
		{"canonical name", "pathprefix(`/a`)", get("http://app.test/b"), "PathPrefix(`/a`) did not match path /b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Compile(tt.rule)
			if err != nil {
				t.Fatal(err)
			}
			tr := r.Explain(tt.req)
			if tr.Matched != r.Match(tt.req) {
				t.Fatalf("Explain says matched=%t, Match says %t", tr.Matched, r.Match(tt.req))
			}
			if got := tr.Why(); got != tt.want {
				t.Errorf("Why:\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

// TestExplainAgreesWithMatch checks Explain's verdict against Match on
// every rule and request of TestMatch's kind.
func TestExplainAgreesWithMatch(t *testing.T) {
	rules := []string{
		"Host(`a.test`)", "Host(`a.test`) && PathPrefix(`/api`)", "Host(`a.test`) || Method(`POST`)",
		"!Host(`a.test`)", "(Path(`/x`) || Path(`/y`)) && !Method(`DELETE`)", "Query(`k`, `v`) || Header(`X`, `1`)",
		"HostRegexp(`^a`) && PathRegexp(`^/v[0-9]+/`)", "ClientIP(`127.0.0.0/8`) && (Method(`GET`) || Method(`HEAD`))",
		"Host(`*.test`) && PathPrefix(`/api/v1`)", "Host(`*`) && Query(`k`)",
	}
	reqs := []*Request{
		get("http://a.test/api/v1/x"), get("http://b.test/x?k=v"), newReq(http.MethodPost, "http://a.test/y"),
		newReq(http.MethodDelete, "http://a.test/x", remote("127.0.0.1:1")), get("http://a.test/", header("X", "1")),
	}
	for _, text := range rules {
		r, err := Compile(text)
		if err != nil {
			t.Fatal(err)
		}
		for _, req := range reqs {
			tr := r.Explain(req)
			if tr.Matched != r.Match(req) {
				t.Errorf("%s on %s %s: Explain %t, Match %t", text, req.HTTP.Method, req.HTTP.URL, tr.Matched, r.Match(req))
			}
			if tr.Expr != r.String() {
				t.Errorf("trace of %s is for %s", text, tr.Expr)
			}
		}
	}
}
