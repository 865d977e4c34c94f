package kubernetes

import (
	"context"
	"fmt"
	"slices"

	"github.com/go-logr/logr"
	"go.uber.org/zap"
	"k8s.io/klog/v2"
)

// WithLogger returns a context whose client-go logger is log: informers,
// reflectors and the event broadcaster started with it log through zap
// rather than klog's process-wide output. Their verbosity 0 messages are
// debug lines (errors are warnings, prefixed "client-go: "); higher
// verbosities are dropped.
func WithLogger(ctx context.Context, log *zap.Logger) context.Context {
	return klog.NewContext(ctx, logr.New(&zapSink{log: log}))
}

// zapSink is a logr.LogSink writing to zap. Its key-value pairs go under
// a "k8s" object, each key once, so they never repeat or shadow zap's own.
type zapSink struct {
	log    *zap.Logger
	values []any // from WithValues
}

func (s *zapSink) Init(logr.RuntimeInfo) {}

func (s *zapSink) Enabled(level int) bool {
	return level <= 0 && s.log.Core().Enabled(zap.DebugLevel)
}

func (s *zapSink) Info(_ int, msg string, kv ...any) {
	s.log.Debug("client-go: "+msg, s.fields(kv)...)
}

func (s *zapSink) Error(err error, msg string, kv ...any) {
	s.log.Warn("client-go: "+msg, append([]zap.Field{zap.Error(err)}, s.fields(kv)...)...)
}

func (s *zapSink) WithValues(kv ...any) logr.LogSink {
	return &zapSink{log: s.log, values: append(slices.Clip(s.values), kv...)}
}

func (s *zapSink) WithName(name string) logr.LogSink {
	return &zapSink{log: s.log.Named(name), values: s.values}
}

// fields turns the sink's and the call's alternating keys and values into
// zap fields under "k8s", the last value of a key winning.
func (s *zapSink) fields(kv []any) []zap.Field {
	all := append(slices.Clip(s.values), kv...)
	if len(all) == 0 {
		return nil
	}
	var keys []string
	vals := map[string]any{}
	for i := 0; i < len(all); i += 2 {
		k, ok := all[i].(string)
		if !ok {
			k = fmt.Sprint(all[i])
		}
		var v any = "(missing)"
		if i+1 < len(all) {
			v = all[i+1]
		}
		if _, seen := vals[k]; !seen {
			keys = append(keys, k)
		}
		vals[k] = v
	}
	out := make([]zap.Field, 0, len(keys)+1)
	out = append(out, zap.Namespace("k8s"))
	for _, k := range keys {
		out = append(out, zap.Any(k, vals[k]))
	}
	return out
}
