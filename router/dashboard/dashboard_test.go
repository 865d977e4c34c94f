package dashboard

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

// maxWeight bounds the dashboard's files: a few hundred KB at most.
const maxWeight = 150 << 10

// TestFiles checks that the page loads only files the binary embeds, from
// its own origin, and stays light.
func TestFiles(t *testing.T) {
	total := 0
	external := regexp.MustCompile(`(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}`)
	err := fs.WalkDir(files, "static", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := files.ReadFile(path)
		if err != nil {
			return err
		}
		total += len(data)
		text := strings.ReplaceAll(string(data), "http://www.w3.org/2000/svg", "") // a namespace, never fetched
		for _, m := range external.FindAllString(text, -1) {
			if !regexp.MustCompile(`(example\.com|\.example|\.test|\.localhost)$`).MatchString(m) { // documentation names (RFC 2606)
				t.Errorf("%s refers to another host: %s", path, m)
			}
		}
		if strings.HasSuffix(path, ".html") && strings.Contains(text, "<script>") {
			t.Errorf("%s has an inline script, which the Content-Security-Policy refuses", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if total > maxWeight {
		t.Errorf("the dashboard weighs %d bytes, more than %d", total, maxWeight)
	}
	t.Logf("%d bytes", total)

	index, _ := files.ReadFile("static/index.html")
	refs := regexp.MustCompile(`(?:src|href)="([^"#]+)"`).FindAllStringSubmatch(string(index), -1)
	h := Handler()
	for _, m := range refs {
		ref := m[1]
		if strings.HasPrefix(ref, "../api/") {
			continue
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, Prefix+ref, nil))
		if rec.Code != http.StatusOK {
			t.Errorf("index.html refers to %s: status %d", ref, rec.Code)
		}
	}
}

func TestHandler(t *testing.T) {
	rec := httptest.NewRecorder()
	Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, Prefix, nil))
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "<title>Ferry</title>") {
		t.Fatalf("%s: %d\n%s", Prefix, rec.Code, rec.Body)
	}
	for k, want := range map[string]string{
		"Content-Security-Policy": "default-src 'none'",
		"X-Content-Type-Options":  "nosniff",
		"Content-Type":            "text/html",
	} {
		if got := rec.Header().Get(k); !strings.Contains(got, want) {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
	rec = httptest.NewRecorder()
	Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, Prefix+"js/app.js", nil))
	if ct := rec.Header().Get("Content-Type"); !strings.Contains(ct, "javascript") {
		t.Errorf("app.js served as %q: modules need a JavaScript type", ct)
	}
}
