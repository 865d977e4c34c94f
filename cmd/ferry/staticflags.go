package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/ferryproxy/ferry/configs"
)

// splitStaticArgs takes the static configuration flags
// (--entryPoints.web.address=:80) out of args and returns them, the
// arguments left for fs, and the problems of the static flags themselves
// (a missing value).
func splitStaticArgs(fs *flag.FlagSet, args []string) ([]configs.Flag, []string, []string) {
	return configs.SplitArgs(args, func(name string) (bool, bool) {
		f := fs.Lookup(name)
		if f == nil {
			return false, false
		}
		b, ok := f.Value.(interface{ IsBoolFlag() bool })
		return true, !ok || !b.IsBoolFlag()
	})
}

// loadStatic reads the static configuration from the file at path (none
// when empty), the FERRY_* environment variables and the static flags, in
// increasing precedence; the embedded default when there are none. It
// returns the configuration, its problems and the name of what was read
// ("" for the embedded default).
func loadStatic(path string, flags []configs.Flag) (*configs.Static, []string, string) {
	return configs.LoadSources(configs.Sources{File: path, Environ: os.Environ(), Flags: flags})
}

// staticFlagsUsage explains the static configuration flags and variables.
func staticFlagsUsage(w io.Writer) {
	fmt.Fprint(w, `  --<key.path>=value
    	any static configuration key, as in the file: --entryPoints.web.address=:80,
    	--providers.docker.exposedByDefault=false, --api.insecure (a boolean or section
    	alone is true), lists as a,b or key[0]=a; laid over the file. The same keys
    	are read from FERRY_* variables: FERRY_ENTRYPOINTS_WEB_ADDRESS=:80
    	(precedence: file < environment < flags)
`)
}
