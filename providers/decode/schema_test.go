package decode

import (
	"reflect"
	"testing"
)

func TestSuggest(t *testing.T) {
	keys := []string{"entryPoints", "providers", "api", "log", "accessLog", "metrics", "certificatesResolvers", "tracing", "core"}
	tests := []struct{ word, want string }{
		{"entryPoint", "entryPoints"},
		{"ENTRYPOINT", "entryPoints"},
		{"provider", "providers"},
		{"lgo", ""}, // two edits in a short word: too far
		{"logs", "log"},
		{"apis", "api"},
		{"certificateResolvers", "certificatesResolvers"},
		{"port", ""}, // Kubernetes' FERRY_PORT is not "core"
		{"service", ""},
		{"docker", ""},
		{"x", ""},
	}
	for _, tt := range tests {
		if got := Suggest(tt.word, keys); got != tt.want {
			t.Errorf("Suggest(%q) = %q, want %q", tt.word, got, tt.want)
		}
	}
}

func TestFieldType(t *testing.T) {
	type inner struct {
		Port int `json:"port"`
	}
	type Embedded struct {
		Shared string `json:"shared"`
	}
	type outer struct {
		Embedded
		Inner  *inner            `json:"inner"`
		Labels map[string]string `json:"labels"`
		Plain  bool
		hidden int
	}
	_ = outer{hidden: 1} // unexported fields are not configuration
	ot := reflect.TypeFor[outer]()
	if got, want := FieldNames(ot), []string{"Plain", "inner", "labels", "shared"}; !reflect.DeepEqual(got, want) {
		t.Errorf("FieldNames = %q, want %q", got, want)
	}
	ft, name, ok := FieldType(reflect.PointerTo(ot), "INNER")
	if !ok || name != "inner" || ft != reflect.TypeFor[*inner]() {
		t.Errorf("FieldType(INNER) = %v %q %v", ft, name, ok)
	}
	if ft, _, ok := FieldType(ot, "shared"); !ok || ft.Kind() != reflect.String {
		t.Errorf("FieldType(shared) through the embedded struct = %v %v", ft, ok)
	}
	if _, _, ok := FieldType(ot, "hidden"); ok {
		t.Error("an unexported field is not a key")
	}
	if _, _, ok := FieldType(reflect.TypeFor[string](), "x"); ok {
		t.Error("a string has no keys")
	}
}
