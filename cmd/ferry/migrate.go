package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"go.uber.org/zap"

	"github.com/ferryproxy/ferry/configs"
	"github.com/ferryproxy/ferry/providers/file"
	"github.com/ferryproxy/ferry/router"
	"github.com/ferryproxy/ferry/router/config"
)

// fromTraefik reports whether the arguments of check ask for the
// migration check (--from-traefik).
func fromTraefik(args []string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if strings.HasPrefix(a, "-") && name == "from-traefik" {
			return true
		}
	}
	return false
}

// newMigrateFlags returns the flags of check --from-traefik.
func newMigrateFlags() (*flag.FlagSet, *string, *string) {
	fs := flag.NewFlagSet("ferry check", flag.ContinueOnError)
	from := fs.String("from-traefik", "", "Traefik static configuration `file` (YAML or TOML) to compare with Ferry's reading of it")
	labelsPath := fs.String("labels", "", "`file` of Traefik-labelled containers: blocks of key=value lines separated by blank lines,\n"+
		"each optionally headed [name ports=80,443]; or the JSON that docker inspect prints")
	return fs, from, labelsPath
}

// migrateUsage prints the flags of check --from-traefik.
func migrateUsage(w io.Writer) {
	fmt.Fprint(w, "\nFlags (check --from-traefik):\n")
	fs, _, _ := newMigrateFlags()
	fs.SetOutput(w)
	fs.PrintDefaults()
}

// migrateCommand runs `ferry check --from-traefik traefik.yml [--labels
// file]`: it prints, key by key, what Ferry does differently with a
// Traefik static configuration, then checks the dynamic files it points to
// and the labelled containers as Ferry would serve them. It returns 1 when
// something Traefik serves or exports would not be (an unsupported key, a
// value Ferry refuses, a router, service or middleware in error), 0 when
// the report only lists keys to drop and defaults that differ, 2 on a usage
// error.
func migrateCommand(args []string, stdout, stderr io.Writer) int {
	fs, from, labelsPath := newMigrateFlags()
	fs.SetOutput(stderr)
	fs.Usage = func() {}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(stdout)
			return 0
		}
		usage(stderr)
		return 2
	}
	switch {
	case fs.NArg() > 0:
		return usageError(stderr, "check: unexpected argument %q", fs.Arg(0))
	case *from == "":
		return usageError(stderr, "check: --from-traefik wants a file")
	}
	rep, err := configs.CompareTraefik(*from)
	if err != nil {
		fmt.Fprintln(stdout, config.RedactText(err.Error()))
		return 1
	}
	out := func(format string, a ...any) { fmt.Fprintln(stdout, config.RedactText(fmt.Sprintf(format, a...))) }
	counts := map[configs.Verdict]int{}
	for _, f := range rep.Findings {
		counts[f.Verdict]++
		where := *from
		if f.Line > 0 {
			where = fmt.Sprintf("%s:%d", *from, f.Line)
		}
		out("%s: %s: %s: %s", where, f.Verdict, f.Path, f.Note)
	}
	for _, p := range rep.Problems {
		out("refused: %s", p)
	}
	d := checkDynamic(rep, *labelsPath)
	for _, line := range d.lines {
		out("not served: %s", line)
	}
	out("%s: %d key(s) read the same, %d differ, %d to drop, %d unsupported, %d value(s) refused",
		*from, rep.Same, counts[configs.Differs], counts[configs.Drop], counts[configs.Unsupported], len(rep.Problems))
	out("dynamic configuration (%s): %d router(s), %d service(s), %d problem(s)", d.sources, d.routers, d.services, len(d.lines))
	if rep.Failed() || len(d.lines) > 0 {
		out("result: something Traefik serves would not be served the same by Ferry")
		return 1
	}
	out("result: Ferry serves what Traefik serves, once the keys to drop are removed and the differences above are accepted")
	return 0
}

// dynamicCheck is what checkDynamic found.
type dynamicCheck struct {
	sources           string   // what was read
	routers, services int      // in the built table
	lines             []string // problems: objects that would not be served
}

// checkDynamic builds the routing table from the dynamic files the Traefik
// configuration points to and the labelled containers of labelsPath, as
// Ferry would, and returns what would not be served.
func checkDynamic(rep *configs.TraefikReport, labelsPath string) dynamicCheck {
	var d dynamicCheck
	var sources []string
	cfg := &config.Config{}
	var problems []config.Problem
	origins := config.OriginMap{}
	add := func(c *config.Config, ps []config.Problem, orig map[config.ObjectID]string, provider string) {
		config.Merge(cfg, c.Qualified(provider))
		problems = append(problems, qualifyProblems(ps, provider)...)
		for id, o := range orig {
			if id.Kind != config.KindSource {
				id.Name = config.Qualify(id.Name, provider)
			}
			origins[id] = o
		}
	}
	static := rep.Static
	fileSource := ""
	if f := static.Providers.File; f != nil && (f.Filename != "") != (f.Directory != "") {
		fileSource = f.Filename + f.Directory
		sources = append(sources, fileSource)
		res, err := file.Load(file.Options{Filename: f.Filename, Directory: f.Directory})
		if err != nil {
			d.lines = append(d.lines, fmt.Sprintf("%s: %v", fileSource, err))
		} else {
			add(res.Config, res.Problems, res.Origins, "file")
		}
	}
	if labelsPath != "" {
		sources = append(sources, labelsPath)
		sets, err := readLabelSets(labelsPath) // migrate_labels.go
		if err != nil {
			d.lines = append(d.lines, err.Error())
		} else {
			c, ps, orig, err := labelsConfig(labelsPath, sets, rep)
			if err != nil {
				d.lines = append(d.lines, err.Error())
			} else {
				add(c, ps, orig, "docker")
			}
		}
	}
	d.sources = strings.Join(sources, ", ")
	if d.sources == "" {
		d.sources = "none"
	}
	eps := routerEntryPoints(static)
	t := router.Build(router.Input{Config: cfg, Problems: problems, Origins: origins},
		router.BuildOptions{EntryPoints: eps, Transports: router.NewTransports(), Log: zap.NewNop(),
			UDPEntryPoints: static.UDPEntryPointNames()})
	for _, p := range t.Problems() {
		d.lines = append(d.lines, formatProblem(p, fileSource))
	}
	d.routers, d.services = len(t.Routers()), len(t.Services())
	return d
}
