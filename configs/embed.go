// Package configs is Ferry's static configuration: its schema, its loading
// and checking, and the example files beside it; the default static
// configuration is embedded in the binary.
package configs

import _ "embed"

// DefaultStatic is configs/ferry.yaml: what `ferry` runs without --config.
// Its relative paths are resolved against the configs/ directory.
//
//go:embed ferry.yaml
var DefaultStatic []byte

// Default parses the embedded default static configuration.
func Default() (*Static, []string) {
	return Parse(DefaultStatic, "configs/ferry.yaml (embedded)", "configs")
}
