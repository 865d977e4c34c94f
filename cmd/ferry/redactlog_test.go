package main

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/ferryproxy/ferry/configs"
)

func TestLoggerRedactsSecrets(t *testing.T) {
	for _, format := range []string{"json", "console"} {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			log, err := newLogger(configs.LogConfig{Level: "info", Format: format}, &buf)
			if err != nil {
				t.Fatal(err)
			}
			u, _ := url.Parse("http://admin:pw-stringer@10.0.0.1/")
			child := log.With(zap.String("endpoint", "tcp://docker:pw-with@127.0.0.1:2376"))
			child.Warn("server failed its health check",
				zap.String("server", "http://admin:pw-string@10.0.0.1:8080"),
				zap.Error(fmt.Errorf("provider: %w", errors.New(`Get "https://u:pw-error@consul/v1": refused`))),
				zap.Stringer("url", u),
				zap.Strings("reasons", []string{"ok", "got \"ftp://svc:pw-strings@x\""}),
				zap.ByteString("raw", []byte("-----BEGIN PRIVATE KEY-----\npw-bytes\n-----END PRIVATE KEY-----")),
			)
			log.Info("message quoting http://a:pw-message@b/ and Bearer pw-bearer")
			log.Debug("below the level http://a:pw-debug@b/")
			_ = log.Sync()
			out := buf.String()
			for _, s := range []string{"pw-with", "pw-string", "pw-error", "pw-stringer", "pw-strings", "pw-bytes", "pw-message", "pw-bearer", "pw-debug"} {
				if strings.Contains(out, s) {
					t.Errorf("log shows %q:\n%s", s, out)
				}
			}
			for _, s := range []string{"tcp://docker:<redacted>@127.0.0.1:2376", "http://admin:<redacted>@10.0.0.1:8080", "provider: Get",
				"10.0.0.1/", "reasons", "ok", "server failed its health check"} {
				if !strings.Contains(out, s) {
					t.Errorf("log lacks %q:\n%s", s, out)
				}
			}
			if n := strings.Count(out, "\n"); n != 2 {
				t.Errorf("want 2 lines, got %d:\n%s", n, out)
			}
		})
	}
}

// TestLoggerLevelThroughRedaction checks that the redacting core reports
// and filters by the configured level, as zap.IncreaseLevel needs.
func TestLoggerLevelThroughRedaction(t *testing.T) {
	for _, level := range []zapcore.Level{zapcore.DebugLevel, zapcore.InfoLevel, zapcore.ErrorLevel} {
		var buf bytes.Buffer
		log, err := newLogger(configs.LogConfig{Level: level.String(), Format: "json"}, &buf)
		if err != nil {
			t.Fatal(err)
		}
		if got := zapcore.LevelOf(log.Core()); got != level {
			t.Errorf("level %s: core reports %s", level, got)
		}
		quiet := log.WithOptions(zap.IncreaseLevel(zap.ErrorLevel))
		quiet.Warn("hidden")
		quiet.Error("shown http://a:pw@b/")
		_ = log.Sync()
		if out := buf.String(); strings.Contains(out, "hidden") || !strings.Contains(out, "shown http://a:<redacted>@b/") {
			t.Errorf("level %s: log:\n%s", level, out)
		}
	}
}
