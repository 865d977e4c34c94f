// Package providers defines the contract between configuration sources
// (file, Docker, Consul, etcd) and the merger that combines their views.
package providers

import (
	"context"

	"github.com/ferryproxy/ferry/router/config"
)

// Provider is a source of dynamic configuration.
type Provider interface {
	// Name is the provider's name, used to qualify its objects (web@file).
	Name() string
	// Run sends the provider's complete current view on out every time it
	// changes, until ctx ends. It retries transient errors itself and never
	// blocks for long on out. It returns nil when ctx ends.
	Run(ctx context.Context, out chan<- Update) error
}

// Update is a provider's full view at one moment; never a delta.
type Update struct {
	// Provider is the sending provider's name.
	Provider string
	// Config is the full configuration, with names not yet qualified. The
	// provider must not modify it after sending.
	Config *config.Config
	// Problems are what the provider could not turn into configuration
	// (a file that does not parse, a bad label). An object named here is
	// disabled with the reason; a KindSource problem is reported as is.
	Problems []config.Problem
	// Origins says where each object was defined (file:line, container
	// name), for messages; names are not yet qualified. May be nil.
	Origins map[config.ObjectID]string
}
