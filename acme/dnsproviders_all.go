//go:build lego_all

package acme

import (
	"github.com/go-acme/lego/v5/challenge"
	"github.com/go-acme/lego/v5/providers/dns"
)

// dnsProviderKnown reports whether name is a DNS provider of this build:
// every lego provider is, and an unknown name fails when the resolver is
// made, with lego's error.
func dnsProviderKnown(name string) bool { return name != "" }

// newDNSProvider makes the lego DNS provider called name; it reads its
// credentials from the environment.
func newDNSProvider(name string) (challenge.Provider, error) {
	return dns.NewDNSChallengeProviderByName(name)
}
