package config

import (
	"encoding/hex"
	"fmt"
	"strings"
)

// DigestAuth requires HTTP digest authentication (RFC 7616) with MD5 or
// SHA-256. Passwords are never stored: each user line holds the hash of
// user:realm:password, as Apache's htdigest writes it.
type DigestAuth struct {
	// Users are htdigest lines "user:realm:hash", where hash is the hex
	// MD5 (32 digits, htdigest's) or SHA-256 (64 digits) of
	// user:realm:password; a user may have one line of each.
	Users []string `json:"users,omitempty"`
	// UsersFile is an htdigest file, merged with Users (the file wins for
	// the same user and algorithm); lines of other realms are skipped.
	UsersFile string `json:"usersFile,omitempty"`
	// Realm is announced in WWW-Authenticate and is part of every hash;
	// default: the realm of the users' lines.
	Realm string `json:"realm,omitempty"`
	// HeaderField, when set, carries the authenticated user to the server.
	HeaderField string `json:"headerField,omitempty"`
	// RemoveHeader drops the Authorization header before forwarding.
	RemoveHeader bool `json:"removeHeader,omitempty"`
}

// DigestLine is one parsed htdigest line.
type DigestLine struct {
	User, Realm string
	// SHA256 is true for a 64-digit hash, false for MD5.
	SHA256 bool
	// Hash is the hash as written, in lower case.
	Hash string
}

// ParseDigestLine parses "user:realm:hash" with a hex MD5 or SHA-256 hash.
func ParseDigestLine(line string) (DigestLine, error) {
	i := strings.IndexByte(line, ':')
	j := strings.LastIndexByte(line, ':')
	if i <= 0 || j <= i {
		return DigestLine{}, fmt.Errorf(`invalid htdigest line: want "user:realm:hash"`)
	}
	d := DigestLine{User: line[:i], Realm: line[i+1 : j], Hash: strings.ToLower(strings.TrimSpace(line[j+1:]))}
	if _, err := hex.DecodeString(d.Hash); err != nil || (len(d.Hash) != 32 && len(d.Hash) != 64) {
		return DigestLine{}, fmt.Errorf("user %q: want the hex MD5 (32 digits) or SHA-256 (64 digits) of user:realm:password", d.User)
	}
	if strings.ContainsAny(d.User, " \t\"") {
		return DigestLine{}, fmt.Errorf("user %q contains a blank or a quote", d.User)
	}
	d.SHA256 = len(d.Hash) == 64
	return d, nil
}

// redactDigestUsers returns users with their hashes replaced.
func redactDigestUsers(users []string) []string {
	out := make([]string, len(users))
	for i, u := range users {
		if j := strings.LastIndexByte(u, ':'); j >= 0 {
			out[i] = u[:j+1] + RedactedText
		} else {
			out[i] = RedactedText
		}
	}
	return out
}
