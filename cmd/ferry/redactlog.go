package main

import (
	"fmt"

	"go.uber.org/zap/zapcore"

	"github.com/ferryproxy/ferry/router/config"
)

// redactCore passes the message and the text fields of every log entry
// through config.RedactText, so that no component's log line shows a URL's
// password, a Bearer token or a private key, whatever it logs (a server
// URL, a provider endpoint, an error quoting either).
type redactCore struct{ zapcore.Core }

// newRedactCore wraps core.
func newRedactCore(core zapcore.Core) zapcore.Core { return redactCore{core} }

// Level reports the wrapped core's minimum level (for zap.IncreaseLevel).
func (c redactCore) Level() zapcore.Level { return zapcore.LevelOf(c.Core) }

// With redacts fields added to a child logger.
func (c redactCore) With(fields []zapcore.Field) zapcore.Core {
	return redactCore{c.Core.With(redactFields(fields))}
}

// Check adds c, not the wrapped core, so that Write redacts.
func (c redactCore) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.Enabled(e.Level) {
		return ce.AddCore(e, c)
	}
	return ce
}

// Write redacts the entry's message and fields.
func (c redactCore) Write(e zapcore.Entry, fields []zapcore.Field) error {
	e.Message = config.RedactText(e.Message)
	return c.Core.Write(e, redactFields(fields))
}

// redactFields returns fields with their text redacted; fields itself when
// nothing changed.
func redactFields(fields []zapcore.Field) []zapcore.Field {
	var out []zapcore.Field
	for i, f := range fields {
		g, changed := redactField(f)
		if !changed {
			continue
		}
		if out == nil {
			out = append([]zapcore.Field(nil), fields...)
		}
		out[i] = g
	}
	if out == nil {
		return fields
	}
	return out
}

func redactField(f zapcore.Field) (zapcore.Field, bool) {
	var text string
	switch f.Type {
	case zapcore.StringType:
		text = f.String
	case zapcore.ByteStringType:
		b, _ := f.Interface.([]byte)
		text = string(b)
	case zapcore.ErrorType:
		if err, ok := f.Interface.(error); ok && err != nil {
			text = err.Error()
		}
	case zapcore.StringerType:
		text = safeString(f.Interface)
	case zapcore.ArrayMarshalerType:
		if a, ok := f.Interface.(zapcore.ArrayMarshaler); ok {
			f.Interface = redactArray{a}
			return f, true
		}
		return f, false
	default:
		return f, false
	}
	red := config.RedactText(text)
	if red == text {
		return f, false
	}
	return zapcore.Field{Key: f.Key, Type: zapcore.StringType, String: red}, true
}

// safeString returns v's String(), or "" when it panics (a nil pointer);
// zap then reports the panic as it would without redaction.
func safeString(v any) (s string) {
	defer func() {
		if recover() != nil {
			s = ""
		}
	}()
	if st, ok := v.(fmt.Stringer); ok {
		return st.String()
	}
	return ""
}

// redactArray redacts the strings of an array field (zap.Strings).
type redactArray struct{ zapcore.ArrayMarshaler }

func (a redactArray) MarshalLogArray(enc zapcore.ArrayEncoder) error {
	return a.ArrayMarshaler.MarshalLogArray(redactArrayEncoder{enc})
}

type redactArrayEncoder struct{ zapcore.ArrayEncoder }

func (e redactArrayEncoder) AppendString(s string) { e.ArrayEncoder.AppendString(config.RedactText(s)) }
