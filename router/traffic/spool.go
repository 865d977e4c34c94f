package traffic

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
)

// errTooLarge is returned when a body exceeds its maximum size.
var errTooLarge = errors.New("buffering: body too large")

// spool holds a body: in memory up to memMax bytes, then in a temporary
// file. Writing more than max bytes (when max > 0) fails with errTooLarge.
type spool struct {
	mem    bytes.Buffer
	memMax int64
	max    int64
	file   *os.File
	size   int64
}

func (s *spool) Write(p []byte) (int, error) {
	if s.max > 0 && s.size+int64(len(p)) > s.max {
		return 0, errTooLarge
	}
	if s.file == nil && int64(s.mem.Len()+len(p)) <= s.memMax {
		s.mem.Write(p)
		s.size += int64(len(p))
		return len(p), nil
	}
	if s.file == nil {
		f, err := os.CreateTemp("", "ferry-buffer-*")
		if err != nil {
			return 0, fmt.Errorf("buffering: spill to disk: %w", err)
		}
		s.file = f
	}
	n, err := s.file.Write(p)
	s.size += int64(n)
	if err != nil {
		return n, fmt.Errorf("buffering: spill to disk: %w", err)
	}
	return n, nil
}

// reader returns a new reader of everything written so far.
func (s *spool) reader() io.Reader {
	if s.file == nil {
		return bytes.NewReader(s.mem.Bytes())
	}
	return io.MultiReader(bytes.NewReader(s.mem.Bytes()), io.NewSectionReader(s.file, 0, s.size-int64(s.mem.Len())))
}

// reset empties the spool, removing its file.
func (s *spool) reset() {
	s.mem.Reset()
	s.size = 0
	if s.file != nil {
		_ = s.file.Close()
		_ = os.Remove(s.file.Name())
		s.file = nil
	}
}
