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
	"syscall"

	"github.com/ferryproxy/ferry/configs"
)

// version is set at link time (-ldflags "-X main.version=...").
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(runCommand(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// runCommand dispatches the subcommands and returns the exit code.
func runCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 && (args[0] == "check" || args[0] == "version" || args[0] == "serve") {
		cmd, args = args[0], args[1:]
	}
	if cmd == "version" {
		fmt.Fprintf(stdout, "ferry %s\n", version)
		return 0
	}
	fs := flag.NewFlagSet("ferry "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "static configuration file (YAML); the embedded configs/ferry.yaml when empty")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	static, problems := readStatic(*configPath)
	if cmd == "check" {
		return check(static, problems, *configPath, stdout)
	}
	if len(problems) > 0 {
		for _, p := range problems {
			fmt.Fprintln(stderr, p)
		}
		return 1
	}
	if err := serve(ctx, static); err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintf(stderr, "ferry: %v\n", err)
		return 1
	}
	return 0
}

// readStatic loads the static configuration from path, or the embedded
// default when path is empty.
func readStatic(path string) (*configs.Static, []string) {
	if path == "" {
		return configs.Default()
	}
	return configs.Load(path)
}
