package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// jsonLogProblems checks every JSON line of a ferry log: each must be one
// object with no key repeated (zap writes a field given twice twice, which
// most log pipelines reject or silently collapse). Lines that are not JSON
// (console format) are skipped.
func jsonLogProblems(log string) []string {
	var problems []string
	for i, line := range strings.Split(log, "\n") {
		if !strings.HasPrefix(line, "{") {
			continue
		}
		if key, err := repeatedKey(line); err != nil {
			problems = append(problems, fmt.Sprintf("line %d is not one JSON object (%v): %s", i+1, err, line))
		} else if key != "" {
			problems = append(problems, fmt.Sprintf("line %d repeats the key %q: %s", i+1, key, line))
		}
	}
	return problems
}

// repeatedKey returns the first key repeated in the top-level object of
// line, or "".
func repeatedKey(line string) (string, error) {
	dec := json.NewDecoder(strings.NewReader(line))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return "", fmt.Errorf("no object: %v", err)
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return "", err
		}
		key, _ := tok.(string)
		if seen[key] {
			return key, nil
		}
		seen[key] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return "", err
		}
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return "", fmt.Errorf("unterminated object: %v", err)
	}
	return "", nil
}

func TestJSONLogProblems(t *testing.T) {
	tests := []struct {
		log  string
		want int
	}{
		{`{"level":"info","msg":"a","entryPoint":"web"}`, 0},
		{`{"level":"info","msg":"a","entryPoint":"web","entryPoint":"web"}`, 1},
		{"INFO console line\n{\"a\":{\"b\":1,\"b\":2}}", 0}, // nested objects are the field's own business
		{`{"a":1`, 1},
	}
	for _, tt := range tests {
		if got := jsonLogProblems(tt.log); len(got) != tt.want {
			t.Errorf("jsonLogProblems(%q) = %q, want %d problem(s)", tt.log, got, tt.want)
		}
	}
}

func TestLogLevelsWithoutNoise(t *testing.T) {
	t.Parallel()
	for _, level := range []string{"debug", "info", "warn", "error"} {
		t.Run(level, func(t *testing.T) {
			t.Parallel()
			b := StartBackend(t, "b", nil)
			f := StartFerry(t, Options{LogLevel: level, Dynamic: dyn(`
http:
  routers:
    app:
      rule: "Host('app.test')"
      service: app
  services:
    app:
      loadBalancer:
        servers:
          - url: %q
`, b.URL)})
			f.WaitRoute("app.test", "/", http.StatusOK, "")
			if logs := f.Logs(); strings.Contains(logs, "IncreaseLevel") || strings.Contains(logs, "invalid increase level") {
				t.Fatalf("log at level %s carries logger noise:\n%s", level, logs)
			}
		})
	}
}
