package config

// PassTLSClientCert passes the client's TLS certificate (mutual TLS) to the
// servers: the certificates in X-Forwarded-Tls-Client-Cert and chosen
// fields of them in X-Forwarded-Tls-Client-Cert-Info, as Traefik does.
// Those headers are always removed from what clients send.
type PassTLSClientCert struct {
	// PEM passes the certificates the client presented, each as the
	// base64 of its DER (a PEM block without its armour and line breaks),
	// separated by commas, in X-Forwarded-Tls-Client-Cert.
	PEM bool `json:"pem,omitempty"`
	// Info passes the chosen fields of each certificate, URL-escaped, in
	// X-Forwarded-Tls-Client-Cert-Info: Subject="…";Issuer="…";
	// SerialNumber="…";NB="…";NA="…";SAN="…", certificates separated by commas.
	Info *TLSClientCertificateInfo `json:"info,omitempty"`
}

// TLSClientCertificateInfo chooses the fields of X-Forwarded-Tls-Client-Cert-Info.
type TLSClientCertificateInfo struct {
	// NotAfter adds NA, the end of validity (Unix seconds).
	NotAfter bool `json:"notAfter,omitempty"`
	// NotBefore adds NB, the start of validity (Unix seconds).
	NotBefore bool `json:"notBefore,omitempty"`
	// Sans adds SAN, the DNS names, e-mail addresses, IP addresses and URIs.
	Sans bool `json:"sans,omitempty"`
	// SerialNumber adds SerialNumber, the certificate's serial number (decimal).
	SerialNumber bool `json:"serialNumber,omitempty"`
	// Subject chooses the parts of the subject's distinguished name.
	Subject *TLSClientCertificateSubjectDNInfo `json:"subject,omitempty"`
	// Issuer chooses the parts of the issuer's distinguished name.
	Issuer *TLSClientCertificateIssuerDNInfo `json:"issuer,omitempty"`
}

// TLSClientCertificateSubjectDNInfo chooses parts of a subject's distinguished name.
type TLSClientCertificateSubjectDNInfo struct {
	// Country adds C.
	Country bool `json:"country,omitempty"`
	// Province adds ST.
	Province bool `json:"province,omitempty"`
	// Locality adds L.
	Locality bool `json:"locality,omitempty"`
	// Organization adds O.
	Organization bool `json:"organization,omitempty"`
	// OrganizationalUnit adds OU.
	OrganizationalUnit bool `json:"organizationalUnit,omitempty"`
	// CommonName adds CN.
	CommonName bool `json:"commonName,omitempty"`
	// SerialNumber adds SN, the subject's serial number attribute.
	SerialNumber bool `json:"serialNumber,omitempty"`
	// DomainComponent adds DC.
	DomainComponent bool `json:"domainComponent,omitempty"`
}

// TLSClientCertificateIssuerDNInfo chooses parts of an issuer's distinguished name.
type TLSClientCertificateIssuerDNInfo struct {
	// Country adds C.
	Country bool `json:"country,omitempty"`
	// Province adds ST.
	Province bool `json:"province,omitempty"`
	// Locality adds L.
	Locality bool `json:"locality,omitempty"`
	// Organization adds O.
	Organization bool `json:"organization,omitempty"`
	// CommonName adds CN.
	CommonName bool `json:"commonName,omitempty"`
	// SerialNumber adds SN, the issuer's serial number attribute.
	SerialNumber bool `json:"serialNumber,omitempty"`
	// DomainComponent adds DC.
	DomainComponent bool `json:"domainComponent,omitempty"`
}
