package tcp

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// copyBufferSize is the buffer of each direction of a connection.
const copyBufferSize = 64 << 10

// PipeOptions bound a forwarded connection.
type PipeOptions struct {
	// Idle closes the connection when no byte has moved in either direction
	// for this long; zero means no limit.
	Idle time.Duration
	// TerminationDelay, when positive, bounds how long one direction may
	// still run after the other has ended.
	TerminationDelay time.Duration
	// Buffers, when not nil, lends the copy buffers.
	Buffers *BufferPool
}

// BufferPool lends copy buffers to pipes; the zero value is ready to use.
type BufferPool struct{ p sync.Pool }

func (b *BufferPool) get() *[]byte {
	if b == nil {
		buf := make([]byte, copyBufferSize)
		return &buf
	}
	if v, ok := b.p.Get().(*[]byte); ok {
		return v
	}
	buf := make([]byte, copyBufferSize)
	return &buf
}

func (b *BufferPool) put(buf *[]byte) {
	if b != nil {
		b.p.Put(buf)
	}
}

// PipeResult counts the bytes forwarded.
type PipeResult struct {
	// Up is the count from client to server, Down from server to client.
	Up, Down int64
	// Err is the first error that aborted the connection (nil for a
	// connection that both sides closed in order).
	Err error
}

// Pipe forwards bytes between client and server until both directions have
// ended, then closes both. When one side ends its stream, only the write
// half towards the other side is closed, so the other direction goes on
// (half-close). It depends on nothing but the two connections, so a
// configuration swap cannot affect it.
func Pipe(client, server net.Conn, opts PipeOptions) PipeResult {
	p := &pipe{opts: opts, conns: [2]net.Conn{client, server}}
	p.touch()
	var res PipeResult
	var wg sync.WaitGroup
	wg.Go(func() { res.Up = p.copy(server, client) })
	wg.Go(func() { res.Down = p.copy(client, server) })
	wg.Wait()
	_ = client.Close()
	_ = server.Close()
	if e := p.err.Load(); e != nil {
		res.Err = *e
	}
	return res
}

type pipe struct {
	opts     PipeOptions
	conns    [2]net.Conn
	last     atomic.Int64 // unix nanoseconds of the last byte moved
	hardStop atomic.Int64 // unix nanoseconds after which the pipe ends; 0: none
	ended    atomic.Int32 // directions that have ended
	err      atomic.Pointer[error]
	abortOne sync.Once
}

func (p *pipe) touch() { p.last.Store(time.Now().UnixNano()) }

// abort ends both directions at once.
func (p *pipe) abort(err error) {
	p.abortOne.Do(func() {
		if err != nil {
			p.err.Store(&err)
		}
		for _, c := range p.conns {
			_ = c.Close()
		}
	})
}

// deadline is the next read deadline of a direction, zero for none.
func (p *pipe) deadline() time.Time {
	var d int64
	if p.opts.Idle > 0 {
		d = p.last.Load() + int64(p.opts.Idle)
	}
	if h := p.hardStop.Load(); h != 0 && (d == 0 || h < d) {
		d = h
	}
	if d == 0 {
		return time.Time{}
	}
	return time.Unix(0, d)
}

// copy moves bytes from src to dst and returns their count.
func (p *pipe) copy(dst, src net.Conn) int64 {
	bp := p.opts.Buffers.get()
	defer p.opts.Buffers.put(bp)
	buf := *bp
	var total int64
	for {
		if err := src.SetReadDeadline(p.deadline()); err != nil {
			p.abort(err)
			return total
		}
		nr, rerr := src.Read(buf)
		if nr > 0 {
			p.touch()
			if p.opts.Idle > 0 {
				_ = dst.SetWriteDeadline(time.Now().Add(p.opts.Idle))
			}
			nw, werr := dst.Write(buf[:nr])
			total += int64(nw)
			if werr != nil {
				p.abort(werr)
				return total
			}
		}
		switch {
		case rerr == nil:
		case errors.Is(rerr, io.EOF):
			p.endDirection(dst)
			return total
		case errors.Is(rerr, os.ErrDeadlineExceeded) && p.stillActive():
			// The other direction moved bytes recently: keep waiting.
		default:
			p.abort(rerr)
			return total
		}
	}
}

// stillActive reports whether the pipe should go on after a read timeout.
func (p *pipe) stillActive() bool {
	now := time.Now().UnixNano()
	if h := p.hardStop.Load(); h != 0 && now >= h {
		return false
	}
	if p.opts.Idle <= 0 {
		return p.hardStop.Load() == 0 || now < p.hardStop.Load()
	}
	return now < p.last.Load()+int64(p.opts.Idle)
}

// endDirection half-closes dst after its source ended, and starts the
// termination delay of the other direction.
func (p *pipe) endDirection(dst net.Conn) {
	if err := closeWrite(dst); err != nil {
		p.abort(nil)
		return
	}
	if p.ended.Add(1) == 1 && p.opts.TerminationDelay > 0 {
		p.hardStop.Store(time.Now().Add(p.opts.TerminationDelay).UnixNano())
		// Wake the other direction's read so it picks up the new deadline.
		for _, c := range p.conns {
			_ = c.SetReadDeadline(time.Now().Add(p.opts.TerminationDelay))
		}
	}
}
