package traffic

import (
	"errors"
	"io"
	"sync"
	"sync/atomic"
)

// errStaleAttempt is returned to a transport still reading the body of an
// attempt that was given up.
var errStaleAttempt = errors.New("retry: request body of an abandoned attempt")

// replayBody records a request body as it is read, up to max bytes, so a
// retry can send it again: each attempt reads what was recorded, then the
// rest from the client. Nothing is read ahead, so a request that fails
// before its body is sent costs nothing.
type replayBody struct {
	mu       sync.Mutex
	src      io.ReadCloser
	buf      []byte
	max      int64
	overflow atomic.Bool // more than max was read: no replay
	srcErr   error       // the client body's final error (io.EOF)
	gen      int         // the current attempt
}

func newReplayBody(src io.ReadCloser, max int64) *replayBody {
	return &replayBody{src: src, max: max}
}

// replayable reports whether every byte read so far can be sent again.
// A nil body is always replayable.
func (b *replayBody) replayable() bool {
	if b == nil {
		return true
	}
	return !b.overflow.Load() // no lock: a transport may be blocked reading the client
}

// next returns the body for a new attempt; readers of earlier attempts
// (a transport goroutine may still hold one) get errStaleAttempt.
func (b *replayBody) next() io.ReadCloser {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.gen++
	return &attemptBody{b: b, gen: b.gen}
}

type attemptBody struct {
	b   *replayBody
	gen int
	off int
}

func (a *attemptBody) Read(p []byte) (int, error) {
	b := a.b
	b.mu.Lock()
	defer b.mu.Unlock()
	if a.gen != b.gen {
		return 0, errStaleAttempt
	}
	if a.off < len(b.buf) {
		n := copy(p, b.buf[a.off:])
		a.off += n
		return n, nil
	}
	if b.srcErr != nil {
		return 0, b.srcErr
	}
	n, err := b.src.Read(p)
	if n > 0 && !b.overflow.Load() {
		if int64(len(b.buf)+n) > b.max {
			b.overflow.Store(true)
			b.buf = nil
		} else {
			b.buf = append(b.buf, p[:n]...)
			a.off += n
		}
	}
	if err != nil {
		b.srcErr = err
	}
	return n, err
}

// Close does nothing: the server closes the client's body.
func (a *attemptBody) Close() error { return nil }
