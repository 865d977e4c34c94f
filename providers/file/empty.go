package file

import (
	"bytes"
	"time"

	"go.uber.org/zap"
)

// A file written in two steps — truncated, then written in place, as many
// editors and configuration tools do — is blank for a moment. Applying
// that moment would remove every route of the file, so a file that
// becomes blank keeps serving its previous configuration for up to
// Options.EmptyGrace; content arriving within the grace replaces it as
// any change does, and the blank state is never applied. A file still
// blank after the grace is applied (its configuration removed) and logged.

// isBlank reports whether data holds no configuration: nothing but white
// space, # comments and YAML document markers (--- and ...).
func isBlank(data []byte) bool {
	for line := range bytes.Lines(data) {
		l := bytes.TrimSpace(line)
		if len(l) == 0 || l[0] == '#' || bytes.Equal(l, []byte("---")) || bytes.Equal(l, []byte("...")) {
			continue
		}
		return false
	}
	return true
}

// holdEmpty reports whether st, whose data just changed, is to keep
// serving its previous configuration: its new data is blank, a grace is
// set, and its last good content was not blank. The first time, it notes
// when the file became blank and logs it.
func (l *loader) holdEmpty(path string, st *fileState) bool {
	if l.grace <= 0 || st.good == nil || st.blank || !isBlank(st.data) {
		st.emptySince = time.Time{}
		return false
	}
	st.broken = nil // a blank file is not a broken one
	if st.emptySince.IsZero() {
		st.emptySince = l.now()
		l.log.Info("file is empty; keeping its previous configuration until it has content again or the empty grace ends",
			zap.String("file", path), zap.Duration("emptyGrace", l.grace))
	}
	return true
}

// settleEmpty returns st, applying its blank content when it has been
// held for the whole grace; while the grace runs it notes when it ends in
// l.holdUntil, so that the caller reads the files again then.
func (l *loader) settleEmpty(path string, st *fileState) *fileState {
	if st.emptySince.IsZero() {
		return st
	}
	if until := st.emptySince.Add(l.grace); l.now().Before(until) {
		if l.holdUntil.IsZero() || until.Before(l.holdUntil) {
			l.holdUntil = until
		}
		return st
	}
	l.log.Warn("file stayed empty for the empty grace; its configuration is removed",
		zap.String("file", path), zap.Duration("emptyGrace", l.grace))
	st.emptySince = time.Time{}
	return l.parse(path, st)
}
