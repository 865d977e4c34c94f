package router

import (
	"crypto/tls"
)

// fileCertificates returns the certificates of the table's
// tls.certificates, for OCSP stapling. An unchanged file keeps its pointer
// from one table to the next (certs.go), and so its staple.
func (t *Table) fileCertificates() []*tls.Certificate {
	if t.certs == nil {
		return nil
	}
	out := make([]*tls.Certificate, 0, len(t.certs.loaded))
	for _, l := range t.certs.loaded {
		out = append(out, l.cert)
	}
	return out
}
