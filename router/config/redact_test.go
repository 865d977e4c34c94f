package config

import (
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

const testKey = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIKEYMATERIALxyz\n-----END EC PRIVATE KEY-----\n"

const testCert = "-----BEGIN CERTIFICATE-----\nMIIBCERTxyz\n-----END CERTIFICATE-----\n"

func TestIsSecretName(t *testing.T) {
	secret := []string{"Authorization", "Proxy-Authorization", "Cookie", "Set-Cookie", "X-Auth-Token",
		"X-Api-Key", "api_key", "apikey", "X-Client-Secret", "XSRF-TOKEN", "access_token", "password",
		"X-Session-Id", "X-Key-Id", "X-Amz-Signature", "sig", "X-Authenticated-User", "pwd", "X-JWT"}
	public := []string{"X-Env", "Content-Type", "Host", "X-Request-Id", "Keep-Alive", "Accept",
		"X-Forwarded-Proto", "Server", "Cache-Control", "Monkey", "Design", "X-Probe"}
	for _, n := range secret {
		if !IsSecretName(n) {
			t.Errorf("IsSecretName(%q) = false, want true", n)
		}
	}
	for _, n := range public {
		if IsSecretName(n) {
			t.Errorf("IsSecretName(%q) = true, want false", n)
		}
	}
}

func TestRedactURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"http://10.0.0.1:8080", "http://10.0.0.1:8080"},
		{"http://admin:s3cret@10.0.0.1:8080/x", "http://admin:<redacted>@10.0.0.1:8080/x"},
		{"https://user@auth.internal/verify", "https://user@auth.internal/verify"},
		{"http://user:@h/", "http://user:@h/"},
		{"http://a:b@c@h/p", "http://a:<redacted>@h/p"},
		{"http://registry:4873/@scope/pkg", "http://registry:4873/@scope/pkg"},
		// Does not parse (an unescaped / in the password): everything up to the last @ goes.
		{"http://u:pa/ss@h/x", "http://u:<redacted>@h/x"},
		{"http://admin:s3cret@127.0.0.1:80x", "http://admin:<redacted>@127.0.0.1:80x"},
		{"/health?token=abc&x=1", "/health?token=<redacted>&x=1"},
		{"https://h/v?api_key=k1&access_token=t2#frag", "https://h/v?api_key=<redacted>&access_token=<redacted>#frag"},
		{"https://h/v?q=search&page=2", "https://h/v?q=search&page=2"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := RedactURL(tt.in); got != tt.want {
			t.Errorf("RedactURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestRedactText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"nothing to hide", "nothing to hide"},
		{`invalid URL "http://admin:s3cret@127.0.0.1:80x": invalid port`, `invalid URL "http://admin:<redacted>@127.0.0.1:80x": invalid port`},
		{`Get "https://bob:pw@a/x" and ws://c:d@e/f.`, `Get "https://bob:<redacted>@a/x" and ws://c:<redacted>@e/f.`},
		{`want an http:// or https:// URL, got "ftp://user:pw@x"`, `want an http:// or https:// URL, got "ftp://user:<redacted>@x"`},
		{"key: " + testKey + "end", "key: <redacted>\nend"},
		{"chain: " + testCert + testKey, "chain: " + testCert + "<redacted>\n"},
		{`quoted "-----BEGIN PRIVATE KEY-----\nMIIE` + `…truncated`, `quoted "<redacted>`},
		{"cannot unmarshal !!str `Bearer abc.def` into int", "cannot unmarshal !!str `Bearer <redacted>` into int"},
	}
	for _, tt := range tests {
		if got := RedactText(tt.in); got != tt.want {
			t.Errorf("RedactText(%q)\n got %q\nwant %q", tt.in, got, tt.want)
		}
	}
}

// TestRedactedHidesEverySecret goes over every configuration type that
// holds a secret: what the API shows (JSON of Redacted) has none of them,
// and keeps what is not a secret.
func TestRedactedHidesEverySecret(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		secrets []string
		kept    []string
	}{
		{"inline certificate key", Config{TLS: TLS{Certificates: []Certificate{{CertFile: testCert, KeyFile: testKey}}}},
			[]string{"KEYMATERIAL"}, []string{"MIIBCERTxyz"}},
		{"key inside the certFile", Config{TLS: TLS{Certificates: []Certificate{{CertFile: testCert + testKey, KeyFile: "/etc/k.pem"}}}},
			[]string{"KEYMATERIAL"}, []string{"MIIBCERTxyz", "/etc/k.pem"}},
		{"headers middleware", Config{HTTP: HTTP{Middlewares: map[string]*Middleware{"h": {Headers: &Headers{
			CustomRequestHeaders: map[string]string{"Authorization": "Bearer tok-1", "X-Api-Key": "k-2",
				"Cookie": "sid=c-3", "X-Auth-Token": "t-4", "X-Env": "prod", "X-Debug": ""},
			CustomResponseHeaders: map[string]string{"Set-Cookie": "sid=c-5", "X-Client-Secret": "s-6", "Server": "ferry"},
		}}}}}, []string{"tok-1", "k-2", "c-3", "t-4", "c-5", "s-6"},
			[]string{`"X-Env":"prod"`, `"X-Debug":""`, `"Server":"ferry"`, `"Authorization":"<redacted>"`}},
		{"digestAuth users", Config{HTTP: HTTP{Middlewares: map[string]*Middleware{"d": {DigestAuth: &DigestAuth{
			Users: []string{"alice:staff:0123456789abcdef0123456789abcdef"}, UsersFile: "/etc/htdigest"}}}}},
			[]string{"0123456789abcdef"}, []string{"alice:staff:<redacted>", "/etc/htdigest"}},
		{"headers sslProxyHeaders", Config{HTTP: HTTP{Middlewares: map[string]*Middleware{"h": {Headers: &Headers{
			SSLProxyHeaders: map[string]string{"X-Forwarded-Proto": "https", "X-Auth-Secret": "s-13"}}}}}},
			[]string{"s-13"}, []string{`"X-Forwarded-Proto":"https"`}},
		{"basicAuth users", Config{HTTP: HTTP{Middlewares: map[string]*Middleware{"a": {BasicAuth: &BasicAuth{
			Users: []string{"alice:$2y$05$hash1", "bob:{SHA}hash2"}, UsersFile: "/etc/htpasswd"}}}}},
			[]string{"hash1", "hash2"}, []string{"alice:<redacted>", "bob:<redacted>", "/etc/htpasswd"}},
		{"forwardAuth address and TLS key", Config{HTTP: HTTP{Middlewares: map[string]*Middleware{"f": {ForwardAuth: &ForwardAuth{
			Address: "https://svc:pw-7@auth.internal/verify?token=t-8", TLS: &ClientTLS{CA: "/ca.pem", Cert: "/c.pem", Key: testKey}}}}}},
			[]string{"pw-7", "t-8", "KEYMATERIAL"}, []string{"https://svc:<redacted>@auth.internal/verify", "/ca.pem"}},
		{"forwardAuth TLS key path is shown", Config{HTTP: HTTP{Middlewares: map[string]*Middleware{"f": {ForwardAuth: &ForwardAuth{
			Address: "https://auth", TLS: &ClientTLS{Cert: "/c.pem", Key: "/k.pem"}}}}}},
			nil, []string{"/k.pem"}},
		{"redirect to a URL with a password", Config{HTTP: HTTP{Middlewares: map[string]*Middleware{"r": {RedirectRegex: &RedirectRegex{
			Regex: "^/(.*)", Replacement: "https://u:pw-9@new.example/${1}"}}}}},
			[]string{"pw-9"}, []string{"new.example"}},
		{"server URLs and health check", Config{HTTP: HTTP{Services: map[string]*Service{"s": {LoadBalancer: &LoadBalancer{
			Servers:     []Server{{URL: "http://admin:pw-10@10.0.0.1:80"}, {URL: "http://10.0.0.2:80"}},
			HealthCheck: &HealthCheck{Path: "/health?access_token=t-11", Headers: map[string]string{"Authorization": "Basic b-12", "X-Probe": "1"}},
		}}}}}, []string{"pw-10", "t-11", "b-12"}, []string{"http://10.0.0.2:80", `"X-Probe":"1"`, "http://admin:<redacted>@10.0.0.1:80"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := mustJSON(t, &tt.cfg)
			shown := mustJSON(t, tt.cfg.Redacted())
			for _, s := range tt.secrets {
				if !strings.Contains(before, s) {
					t.Fatalf("test setup: %q not in the configuration", s)
				}
				if strings.Contains(shown, s) {
					t.Errorf("secret %q shown:\n%s", s, shown)
				}
			}
			for _, k := range tt.kept {
				if !strings.Contains(shown, k) {
					t.Errorf("%q missing from what is shown:\n%s", k, shown)
				}
			}
			if after := mustJSON(t, &tt.cfg); after != before {
				t.Errorf("Redacted modified the configuration:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
}

func TestRedactedSharesNothingMutable(t *testing.T) {
	c := &Config{HTTP: HTTP{Routers: map[string]*Router{"r": {Rule: "Host(`a`)"}}}}
	r := c.Redacted()
	r.HTTP.Routers["other"] = &Router{}
	if len(c.HTTP.Routers) != 1 {
		t.Fatal("the redacted copy shares its maps with the configuration")
	}
	if (*Config)(nil).Redacted() != nil {
		t.Fatal("nil configuration redacted to non-nil")
	}
}

// secretFieldName matches the Go names of string fields that hold secrets.
var secretFieldName = regexp.MustCompile(`(?i)(key|token|passw|secret|users|credential|hmac)`)

// urlFieldName and headersFieldName match fields that hold URLs (which may
// carry a password) and header maps (which may carry credentials).
var (
	urlFieldName     = regexp.MustCompile(`(?i)(url|address)$`)
	headersFieldName = regexp.MustCompile(`(?i)headers$`)
)

// notSecret lists the fields matched above that hold no secret, with why.
var notSecret = map[string]string{
	"BasicAuth.UsersFile":  "a file path",
	"DigestAuth.UsersFile": "a file path",
	"Headers.PublicKey":    "a public key pin (HPKP): public by design",
	"TCPServer.Address":    "host:port, no user information",
	"UDPServer.Address":    "host:port, no user information",
}

const sentinel = "SENTINEL-SECRET"

// TestRedactedCoversSecretFields finds, by reflection, every field of the
// configuration whose name says it holds a secret (key, token, password,
// secret, users…), a URL or headers, fills it with a secret and checks
// that Redacted hides it. A new such field without a redaction case fails
// here until Redacted handles it (or it is listed in notSecret).
func TestRedactedCoversSecretFields(t *testing.T) {
	fields := secretFields(reflect.TypeFor[Config](), nil, map[reflect.Type]bool{})
	if len(fields) < 8 {
		t.Fatalf("found only %d secret-looking fields: %v", len(fields), fields)
	}
	seen := map[string]bool{}
	for _, f := range fields {
		seen[f.name] = true
		if why, ok := notSecret[f.name]; ok {
			t.Logf("%s: not a secret (%s)", f.name, why)
			continue
		}
		t.Run(f.name, func(t *testing.T) {
			v := build(reflect.TypeFor[Config](), f.index, f.value).Interface().(Config)
			before := mustJSON(t, &v)
			if !strings.Contains(before, sentinel) {
				t.Skipf("%s is not shown in JSON", f.name)
			}
			if shown := mustJSON(t, v.Redacted()); strings.Contains(shown, sentinel) {
				t.Errorf("%s holds a secret but Redacted shows it: add a case to redact.go\n%s", f.name, shown)
			}
			if after := mustJSON(t, &v); after != before {
				t.Errorf("Redacted modified the configuration")
			}
		})
	}
	for name := range notSecret {
		if !seen[name] {
			t.Errorf("notSecret lists %s, which is no longer a secret-looking field", name)
		}
	}
}

type secretField struct {
	name  string // Type.Field
	index []int  // struct field indexes from Config
	value func(reflect.Type) reflect.Value
}

// secretFields walks the struct types reachable from t (through pointers,
// maps and slices) and returns the fields worth a secret.
func secretFields(t reflect.Type, index []int, onPath map[reflect.Type]bool) []secretField {
	t = structOf(t)
	if t == nil || onPath[t] {
		return nil
	}
	onPath[t] = true
	defer delete(onPath, t)
	var out []secretField
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		idx := append(append([]int(nil), index...), i)
		name := t.Name() + "." + f.Name
		if v := secretValue(f); v != nil {
			out = append(out, secretField{name: name, index: idx, value: v})
			continue
		}
		out = append(out, secretFields(f.Type, idx, onPath)...)
	}
	return out
}

// structOf returns the struct type t holds through pointers, maps and
// slices, or nil.
func structOf(t reflect.Type) reflect.Type {
	for {
		switch t.Kind() {
		case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Array:
			t = t.Elem()
		case reflect.Struct:
			return t
		default:
			return nil
		}
	}
}

// secretValue returns how to fill field f with a secret, or nil when its
// name does not suggest one.
func secretValue(f reflect.StructField) func(reflect.Type) reflect.Value {
	str := reflect.TypeFor[string]()
	isString := f.Type.Kind() == reflect.String
	isStrings := f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.String
	isMap := f.Type.Kind() == reflect.Map && f.Type.Key() == str && f.Type.Elem().Kind() == reflect.String
	conv := func(v any) func(reflect.Type) reflect.Value {
		return func(t reflect.Type) reflect.Value { return reflect.ValueOf(v).Convert(t) }
	}
	switch {
	case headersFieldName.MatchString(f.Name) && isMap:
		return conv(map[string]string{"Authorization": "Bearer " + sentinel, "X-Api-Key": sentinel})
	case urlFieldName.MatchString(f.Name) && isString:
		return conv("http://user:" + sentinel + "@example.test/")
	case !secretFieldName.MatchString(f.Name):
		return nil
	case strings.Contains(strings.ToLower(f.Name), "key") && isString:
		return conv("-----BEGIN PRIVATE KEY-----\n" + sentinel + "\n-----END PRIVATE KEY-----\n")
	case strings.HasSuffix(strings.ToLower(f.Name), "users") && isStrings:
		return conv([]string{"alice:" + sentinel})
	case isString:
		return conv(sentinel)
	case isStrings:
		return conv([]string{sentinel})
	case isMap:
		return conv(map[string]string{sentinel: sentinel})
	case f.Type.Kind() == reflect.Struct || structOf(f.Type) != nil:
		return nil // e.g. BasicAuth, ForwardAuth: looked into
	case f.Type.Kind() == reflect.Bool || f.Type.Kind() == reflect.Int:
		return nil // e.g. AccessControlAllowCredentials: a switch, not a secret
	}
	panic(fmt.Sprintf("field %s looks secret but has type %s, which the test cannot fill", f.Name, f.Type))
}

// build returns a value of type t whose field at index (struct field
// indexes, going through pointers, maps and slices) holds leaf's value.
func build(t reflect.Type, index []int, leaf func(reflect.Type) reflect.Value) reflect.Value {
	if len(index) == 0 {
		return leaf(t)
	}
	switch t.Kind() {
	case reflect.Pointer:
		p := reflect.New(t.Elem())
		p.Elem().Set(build(t.Elem(), index, leaf))
		return p
	case reflect.Map:
		m := reflect.MakeMap(t)
		m.SetMapIndex(reflect.ValueOf("x@file").Convert(t.Key()), build(t.Elem(), index, leaf))
		return m
	case reflect.Slice:
		s := reflect.MakeSlice(t, 1, 1)
		s.Index(0).Set(build(t.Elem(), index, leaf))
		return s
	case reflect.Struct:
		v := reflect.New(t).Elem()
		v.Field(index[0]).Set(build(t.Field(index[0]).Type, index[1:], leaf))
		return v
	}
	panic("cannot build " + t.String())
}

// mustJSON encodes v as the API does (no HTML escaping).
func mustJSON(t *testing.T, v any) string {
	t.Helper()
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return b.String()
}
