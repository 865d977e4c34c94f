// Package configs holds Ferry's example configuration files; the default
// static configuration is embedded in the binary.
package configs

import _ "embed"

// DefaultStatic is configs/ferry.yaml: what `ferry` runs without --config.
// Its relative paths are resolved against the configs/ directory.
//
//go:embed ferry.yaml
var DefaultStatic []byte
