// Package fault classifies why a proxied request failed, so that the right
// side is blamed. A client's malformed, stalled or abandoned request is the
// client's fault: it is answered 400, 408, 413 or 499 and never counts
// against a server's health, a circuit breaker or a retry budget. A
// server's failure (refused, reset, timed out, bad response) is answered
// 502 or 504 and counts.
//
// The proxy classifies a failure once, with Classify, and passes it on as
// an *Error; everything downstream (passive health checks, the circuit
// breaker, retries, logs) asks the Kind.
package fault

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"
)

// StatusClientClosedRequest is logged when the client went away before the
// server answered (nginx's 499). It is never sent.
const StatusClientClosedRequest = 499

// Kind is the class of a failed request.
type Kind uint8

const (
	// Upstream: the server could not be reached or gave no valid answer
	// (refused, reset, malformed response).
	Upstream Kind = iota
	// UpstreamTimeout: the server did not answer in time.
	UpstreamTimeout
	// ClientGone: the client closed the connection or cancelled the request.
	ClientGone
	// ClientTimeout: the client's request body made no progress in time.
	ClientTimeout
	// ClientMalformed: the client's request body is malformed (a bad chunk).
	ClientMalformed
	// ClientTooLarge: the client's request body is larger than allowed.
	ClientTooLarge
)

// kinds is the one table of error kinds: the status each is answered
// with and whether the client is to blame.
var kinds = [...]struct {
	status int
	client bool
	name   string
}{
	Upstream:        {http.StatusBadGateway, false, "upstream"},
	UpstreamTimeout: {http.StatusGatewayTimeout, false, "upstream timeout"},
	ClientGone:      {StatusClientClosedRequest, true, "client gone"},
	ClientTimeout:   {http.StatusRequestTimeout, true, "client timeout"},
	ClientMalformed: {http.StatusBadRequest, true, "malformed request"},
	ClientTooLarge:  {http.StatusRequestEntityTooLarge, true, "request too large"},
}

// Status is the status a failure of this kind is answered with.
func (k Kind) Status() int { return kinds[k].status }

// Client reports whether the client is to blame: such a failure never
// counts against a server.
func (k Kind) Client() bool { return kinds[k].client }

func (k Kind) String() string { return kinds[k].name }

// Error is a classified proxy failure.
type Error struct {
	Kind Kind
	Err  error
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %v", e.Kind, e.Err) }

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// BodyError marks a failed read from the client's request body; the entry
// point wraps every such error in one, so that the failure is blamed on
// the client however deep in a transport it surfaces.
type BodyError struct{ Err error }

func (e *BodyError) Error() string { return "reading the request body: " + e.Err.Error() }

// Unwrap returns the underlying error.
func (e *BodyError) Unwrap() error { return e.Err }

// BodyKey is the context key under which the entry point leaves a
// request's body, a BodyReader, so that a failure is blamed on the client
// whenever reading its body failed, whatever error a transport reports
// (it may see its request cancelled first).
type BodyKey struct{}

// ConnKey is the context key under which the entry point leaves, in every
// request's context, the client's connection as a Conn.
type ConnKey struct{}

// Conn is what the proxy may ask of a client's connection.
type Conn interface {
	// ResetsStreams reports whether the client cancels most of the HTTP/2
	// streams it opens (a rapid reset): no server is dialled for it, since
	// a dial goes on after its request is cancelled and would leave an
	// idle upstream connection behind for each such stream.
	ResetsStreams() bool
}

// BodyReader is a request body that remembers how reading it failed.
type BodyReader interface {
	// ReadError returns the first error reading the body returned, other
	// than io.EOF, or nil.
	ReadError() error
}

// Classify returns the kind of a proxy failure of request r (r may be nil).
func Classify(r *http.Request, err error) Kind {
	var fe *Error
	if errors.As(err, &fe) {
		return fe.Kind
	}
	clientGone := r != nil && r.Context().Err() != nil
	var be *BodyError
	if errors.As(err, &be) {
		return classifyBody(be.Err, clientGone)
	}
	if r != nil {
		if b, ok := r.Context().Value(BodyKey{}).(BodyReader); ok {
			if bodyErr := b.ReadError(); bodyErr != nil {
				return classifyBody(bodyErr, clientGone)
			}
		}
	}
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return ClientTooLarge
	case clientGone:
		return ClientGone
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		return UpstreamTimeout
	}
	return Upstream
}

// classifyBody classifies a failed read of the client's body. A body that
// ends before its length is incomplete (400): the client may have closed
// only its sending side and still wait for the answer.
func classifyBody(err error, clientGone bool) Kind {
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return ClientTooLarge
	case isTimeout(err):
		return ClientTimeout
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return ClientMalformed
	case clientGone, errors.Is(err, net.ErrClosed), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, context.Canceled):
		return ClientGone
	}
	return ClientMalformed
}

// Wrap classifies err as a failure of request r, unless it already is an
// *Error.
func Wrap(r *http.Request, err error) *Error {
	var fe *Error
	if errors.As(err, &fe) {
		return fe
	}
	return &Error{Kind: Classify(r, err), Err: err}
}

// IsClient reports whether err, as passed on by the proxy, is the client's
// fault.
func IsClient(err error) bool {
	var fe *Error
	return errors.As(err, &fe) && fe.Kind.Client()
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
