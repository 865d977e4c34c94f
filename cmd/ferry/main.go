// Command ferry is a dynamic reverse proxy and load balancer: it serves the
// routes its providers describe and applies their changes live.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/ferryproxy/ferry/configs"
	"github.com/ferryproxy/ferry/router/config"
)

// version is set at link time (-ldflags "-X main.version=...").
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(runCommand(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// commands are the subcommands, in the order the usage lists them, with
// their one-line description.
var commands = [...]struct{ name, doc string }{
	{"serve", "serve the entry points with the providers' routes (the default)"},
	{"check", "validate the static configuration and its dynamic files without serving; exit 1 on any problem;\n            check --from-traefik traefik.yml [--labels file] says what Ferry does differently from Traefik"},
	{"explain", "say which router serves a request and why each other one does not: explain [flags] 'GET https://host/path'"},
	{"version", "print the version"},
	{"help", "print this help"},
}

// runCommand dispatches the subcommands and returns the exit code: 0, 1 on
// a failure, 2 on a usage error (an unknown command, flag or argument),
// after which the usage is printed on stderr.
func runCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 {
		switch a := args[0]; {
		case a == "-h" || a == "-help" || a == "--help":
			usage(stdout)
			return 0
		case isCommand(a):
			cmd, args = a, args[1:]
		case !strings.HasPrefix(a, "-"):
			return usageError(stderr, "unknown command %q", a)
		}
	}
	switch cmd {
	case "help":
		if len(args) > 0 && !isCommand(args[0]) || len(args) > 1 {
			return usageError(stderr, "help: unexpected argument %q", args[len(args)-1])
		}
		usage(stdout)
		return 0
	case "version":
		if len(args) > 0 {
			return usageError(stderr, "version: unexpected argument %q", args[0])
		}
		fmt.Fprintf(stdout, "ferry %s\n", version)
		return 0
	case "explain":
		return explainCommand(args, stdout, stderr) // explain.go
	case "check":
		if fromTraefik(args) {
			return migrateCommand(args, stdout, stderr) // migrate.go
		}
	}
	fs, configPath := newFlagSet(cmd)
	fs.SetOutput(stderr)
	fs.Usage = func() {} // the whole usage is printed below
	// --entryPoints.web.address=:80 and the like are static configuration
	// (staticflags.go); the rest is for fs.
	staticFlags, args, flagProblems := splitStaticArgs(fs, args)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(stdout)
			return 0
		}
		usage(stderr) // the flag package has said what is wrong
		return 2
	}
	if fs.NArg() > 0 {
		return usageError(stderr, "%s: unexpected argument %q", cmd, fs.Arg(0))
	}
	static, problems, source := loadStatic(*configPath, staticFlags)
	problems = redactAll(append(flagProblems, problems...))
	if cmd == "check" {
		return check(static, problems, source, stdout)
	}
	if len(problems) > 0 {
		for _, p := range problems {
			fmt.Fprintln(stderr, p)
		}
		return 1
	}
	if err := serve(ctx, static); err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintf(stderr, "ferry: %s\n", config.RedactText(err.Error()))
		return 1
	}
	return 0
}

// newFlagSet returns the flags of serve and check.
func newFlagSet(cmd string) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet("ferry "+cmd, flag.ContinueOnError)
	configPath := fs.String("config", "", "static configuration `file` (YAML); the embedded configs/ferry.yaml when empty and no --<key.path> flag or FERRY_* variable is given")
	fs.StringVar(configPath, "configFile", "", "the same as -config (Traefik's name)")
	return fs, configPath
}

func isCommand(name string) bool {
	for _, c := range commands {
		if c.name == name {
			return true
		}
	}
	return false
}

// usage prints the commands and flags on w.
func usage(w io.Writer) {
	fmt.Fprint(w, "Usage: ferry [command] [flags]\n\nCommands:\n")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-8s  %s\n", c.name, c.doc)
	}
	fmt.Fprint(w, "\nFlags (serve, check):\n")
	fs, _ := newFlagSet("")
	fs.SetOutput(w)
	fs.PrintDefaults()
	staticFlagsUsage(w) // staticflags.go
	migrateUsage(w)     // migrate.go
	fmt.Fprint(w, "\nFlags (explain), before or after the request:\n")
	ef := newExplainFlags()
	ef.fs.SetOutput(w)
	ef.fs.PrintDefaults()
}

// usageError prints a usage error and the usage on stderr and returns 2.
func usageError(stderr io.Writer, format string, args ...any) int {
	fmt.Fprintf(stderr, "ferry: "+format+"\n\n", args...)
	usage(stderr)
	return 2
}

// redactAll passes static configuration problems through
// config.RedactText before they are printed.
func redactAll(problems []string) []string {
	out := make([]string, len(problems))
	for i, p := range problems {
		out[i] = config.RedactText(p)
	}
	return out
}

// readStatic loads the static configuration from path and the FERRY_*
// variables, or the embedded default without either.
func readStatic(path string) (*configs.Static, []string) {
	s, problems, _ := loadStatic(path, nil) // staticflags.go: with the FERRY_* variables
	return s, problems
}
