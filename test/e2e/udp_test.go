package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// udpDynamic is the dynamic configuration of TestUDP: router dns sends
// entry point dns to service echo, whose servers are given; extra is
// appended under udp.
func udpDynamic(servers, extraRouters, extraServices string) string {
	return fmt.Sprintf(`udp:
  routers:
    dns:
      entryPoints: [dns]
      service: echo
%s  services:
    echo:
      loadBalancer:
        servers:
%s%s`, extraRouters, servers, extraServices)
}

func TestUDP(t *testing.T) {
	a, b := startUDPEcho(t, "a"), startUDPEcho(t, "b")
	dns, dns2 := freeUDPAddr(t), freeUDPAddr(t)
	f := startFerryWithEntryPoints(t, Options{
		Dynamic: udpDynamic(fmt.Sprintf("          - address: %q\n", a), "", ""),
	}, fmt.Sprintf("  dns:\n    address: %q\n    udp:\n      timeout: 30s\n  dns2:\n    address: %q\n", dns+"/udp", dns2+"/udp"))
	f.waitUDP("/api/udp/routers", func(m map[string]apiUDPObject) bool { return m["dns@file"].Status == "enabled" })

	t.Run("two clients echo independently", func(t *testing.T) {
		c1, c2 := dialUDP(t, dns), dialUDP(t, dns)
		for i := range 5 {
			for j, c := range []*udpClient{c1, c2} {
				msg := fmt.Sprintf("client%d-%d", j, i)
				if got := c.ask(msg, 2*time.Second); got != "a:"+msg {
					t.Fatalf("client %d: answer %q, want %q", j, got, "a:"+msg)
				}
			}
		}
	})

	// Weights 3:1: sessions, not datagrams, are spread.
	f.WriteDynamic(udpDynamic(fmt.Sprintf("          - address: %q\n            weight: 3\n          - address: %q\n            weight: 1\n", a, b), "", ""))
	f.waitUDP("/api/udp/services", func(m map[string]apiUDPObject) bool {
		s := m["echo@file"]
		return s.LoadBalancer != nil && len(s.LoadBalancer.Servers) == 2
	})
	var onB *udpClient
	t.Run("weights 3:1 share sessions", func(t *testing.T) {
		count := map[string]int{}
		for i := range 8 {
			c := dialUDP(f.t, dns)
			first := c.server(fmt.Sprintf("first-%d", i))
			count[first]++
			for j := range 3 {
				if got := c.server(fmt.Sprintf("next-%d-%d", i, j)); got != first {
					t.Fatalf("client %d moved from %s to %s within its session", i, first, got)
				}
			}
			if first == "b" && onB == nil {
				onB = c
			}
		}
		if count["a"] != 6 || count["b"] != 2 {
			t.Fatalf("sessions per server = %v, want a:6 b:2", count)
		}
	})
	if onB == nil {
		t.Fatal("no session on server b")
	}

	// A swap that adds an invalid router and service on another entry point
	// leaves router dns and its sessions alone.
	weighted := fmt.Sprintf("          - address: %q\n            weight: 3\n          - address: %q\n            weight: 1\n", a, b)
	f.WriteDynamic(udpDynamic(weighted,
		"    broken:\n      entryPoints: [dns2]\n      service: bad\n",
		"    bad:\n      loadBalancer:\n        servers:\n          - address: nope\n"))
	services := f.waitUDP("/api/udp/services", func(m map[string]apiUDPObject) bool { _, ok := m["bad@file"]; return ok })
	t.Run("invalid object disabled alone", func(t *testing.T) {
		if bad := services["bad@file"]; bad.Status != "disabled" || !strings.Contains(strings.Join(bad.Error, " "), `invalid address "nope"`) {
			t.Fatalf("service bad = %+v, want disabled for its address", bad)
		}
		if s := services["echo@file"]; s.Status != "enabled" {
			t.Fatalf("service echo = %+v", s)
		}
		routers := f.waitUDP("/api/udp/routers", func(m map[string]apiUDPObject) bool { return true })
		if r := routers["broken@file"]; r.Status != "disabled" {
			t.Fatalf("router broken = %+v, want disabled", r)
		}
		if r := routers["dns@file"]; r.Status != "enabled" {
			t.Fatalf("router dns = %+v, want enabled", r)
		}
		if got := dialUDP(t, dns2).ask("x", 300*time.Millisecond); got != "" {
			t.Fatalf("disabled router answered %q", got)
		}
	})
	t.Run("swap keeps sessions", func(t *testing.T) {
		// A rebuilt service would send a new session to a (weight 3 goes first).
		for i := range 3 {
			if got := onB.server(fmt.Sprintf("after-swap-%d", i)); got != "b" {
				t.Fatalf("session moved from b to %s after a swap that did not touch router dns", got)
			}
		}
		if got := dialUDP(t, dns).server("new"); got == "" {
			t.Fatal("a new client got no session")
		}
	})

	t.Run("removed router takes no new sessions", func(t *testing.T) {
		f.WriteDynamic("udp:\n  services:\n    echo:\n      loadBalancer:\n        servers:\n" + weighted)
		f.waitUDP("/api/udp/routers", func(m map[string]apiUDPObject) bool { return len(m) == 0 })
		if got := dialUDP(t, dns).ask("late", 300*time.Millisecond); got != "" {
			t.Fatalf("answer %q after router dns was removed", got)
		}
	})
}
