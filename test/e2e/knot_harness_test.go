package e2e

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// knotDNS is a running Knot DNS authoritative server on loopback, serving
// one zone and accepting RFC 2136 dynamic updates signed with a TSIG key.
type knotDNS struct {
	// Addr is where it answers, over UDP and TCP.
	Addr string
	// Zone is the zone it serves, with a trailing dot.
	Zone string
	// KeyName, Algorithm and Secret are the TSIG key of updates.
	KeyName, Algorithm, Secret string
}

// knotBin returns knotd: $FERRY_KNOT_BIN, else from PATH or /usr/sbin.
// The test is skipped when there is none (test/knot/ensure-knot.sh
// installs it; make e2e runs that script).
func knotBin(t testing.TB) string {
	t.Helper()
	if b := os.Getenv("FERRY_KNOT_BIN"); b != "" {
		return b
	}
	if b, err := exec.LookPath("knotd"); err == nil {
		return b
	}
	if _, err := os.Stat("/usr/sbin/knotd"); err == nil {
		return "/usr/sbin/knotd"
	}
	t.Skip("knotd is not installed: run test/knot/ensure-knot.sh or make e2e")
	return ""
}

// startKnot serves zone (e.g. "wild.test") with an SOA, an NS and the A
// records 127.0.0.1 for the apex, ns and every other name (*), until the
// test ends.
func startKnot(t testing.TB, zone string) *knotDNS {
	t.Helper()
	bin := knotBin(t)
	dir := t.TempDir()
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		t.Fatal(err)
	}
	k := &knotDNS{Addr: reservedAddr(t, true), Zone: dns.Fqdn(zone), KeyName: "ferry-update.",
		Algorithm: "hmac-sha256", Secret: base64.StdEncoding.EncodeToString(secret)}
	host, port, _ := net.SplitHostPort(k.Addr)
	zoneFile := fmt.Sprintf(`$ORIGIN %[1]s
$TTL 60
@   SOA ns.%[1]s hostmaster.%[1]s 1 3600 600 86400 60
@   NS  ns.%[1]s
@   A   127.0.0.1
ns  A   127.0.0.1
*   A   127.0.0.1
`, k.Zone)
	conf := fmt.Sprintf(`server:
    rundir: %[1]q
    listen: %[2]s@%[3]s
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
database:
    storage: %[1]q
log:
  - target: stderr
    any: info
key:
  - id: %[4]s
    algorithm: %[5]s
    secret: %[6]s
acl:
  - id: update
    key: %[4]s
    action: update
zone:
  - domain: %[7]s
    storage: %[1]q
    file: zone.db
    acl: update
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
`, dir, host, port, k.KeyName, k.Algorithm, k.Secret, k.Zone)
	for name, data := range map[string]string{"zone.db": zoneFile, "knot.conf": conf} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	out := &syncBuffer{}
	startProcess(t, "knotd", out, bin, "-c", filepath.Join(dir, "knot.conf"))
	deadline := time.Now().Add(waitTimeout)
	for {
		r, err := k.query(k.Zone, dns.TypeSOA)
		if err == nil && r.Rcode == dns.RcodeSuccess && len(r.Answer) > 0 {
			return k
		}
		if time.Now().After(deadline) {
			t.Fatalf("knotd not answering on %s within %s: %v\n%s", k.Addr, waitTimeout, err, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// query asks the server one question.
func (k *knotDNS) query(name string, qtype uint16) (*dns.Msg, error) {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	c := &dns.Client{Timeout: 2 * time.Second}
	r, _, err := c.Exchange(m, k.Addr)
	return r, err
}

// TXT returns the TXT strings of name.
func (k *knotDNS) TXT(t testing.TB, name string) []string {
	t.Helper()
	r, err := k.query(name, dns.TypeTXT)
	if err != nil {
		t.Fatalf("TXT %s at %s: %v", name, k.Addr, err)
	}
	var out []string
	for _, rr := range r.Answer {
		if txt, ok := rr.(*dns.TXT); ok {
			out = append(out, strings.Join(txt.Txt, ""))
		}
	}
	return out
}

// Env returns the environment of lego's rfc2136 provider for this server,
// as Traefik documents it.
func (k *knotDNS) Env() []string {
	return []string{
		"RFC2136_NAMESERVER=" + k.Addr,
		"RFC2136_TSIG_KEY=" + k.KeyName,
		"RFC2136_TSIG_SECRET=" + k.Secret,
		"RFC2136_TSIG_ALGORITHM=" + k.Algorithm + ".",
	}
}
