package middleware

import (
	"bufio"
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// hashKind is the scheme of an htpasswd hash.
type hashKind uint8

const (
	hashBcrypt hashKind = iota + 1
	hashSHA1
	hashMD5Crypt // $apr1$ (Apache) and $1$ (glibc) MD5-crypt
)

// credential is one parsed htpasswd entry.
type credential struct {
	kind hashKind
	hash []byte // the whole stored hash, as written
	// for MD5-crypt: magic ($apr1$ or $1$) and salt
	magic, salt string
}

// parseHtpasswdLine parses "user:hash". Supported hashes: bcrypt ($2a$,
// $2b$, $2y$), SHA1 ({SHA}base64) and MD5-crypt ($apr1$ and $1$).
func parseHtpasswdLine(line string) (string, credential, error) {
	user, hash, ok := strings.Cut(line, ":")
	if !ok || user == "" || hash == "" {
		return "", credential{}, errors.New(`want "user:hash"`)
	}
	if strings.ContainsAny(user, " \t") {
		return "", credential{}, fmt.Errorf("user %q contains a blank", user)
	}
	c := credential{hash: []byte(hash)}
	switch {
	case strings.HasPrefix(hash, "$2a$"), strings.HasPrefix(hash, "$2b$"), strings.HasPrefix(hash, "$2y$"):
		if _, err := bcrypt.Cost(c.hash); err != nil {
			return "", credential{}, fmt.Errorf("user %q: invalid bcrypt hash: %w", user, err)
		}
		c.kind = hashBcrypt
	case strings.HasPrefix(hash, "{SHA}"):
		raw, err := base64.StdEncoding.DecodeString(hash[len("{SHA}"):])
		if err != nil || len(raw) != sha1.Size {
			return "", credential{}, fmt.Errorf("user %q: invalid {SHA} hash", user)
		}
		c.kind = hashSHA1
	case strings.HasPrefix(hash, "$apr1$"), strings.HasPrefix(hash, "$1$"):
		magic := "$1$"
		if strings.HasPrefix(hash, "$apr1$") {
			magic = "$apr1$"
		}
		salt, sum, ok := strings.Cut(hash[len(magic):], "$")
		if !ok || salt == "" || len(salt) > 8 || len(sum) != 22 {
			return "", credential{}, fmt.Errorf("user %q: invalid %s hash", user, strings.Trim(magic, "$"))
		}
		c.kind, c.magic, c.salt = hashMD5Crypt, magic, salt
	default:
		return "", credential{}, fmt.Errorf("user %q: unsupported hash (want bcrypt, {SHA}, $apr1$ or $1$)", user)
	}
	return user, c, nil
}

// verify reports whether password matches c, in time independent of where
// the two differ.
func (c *credential) verify(password string) bool {
	switch c.kind {
	case hashBcrypt:
		return bcrypt.CompareHashAndPassword(c.hash, []byte(password)) == nil
	case hashSHA1:
		sum := sha1.Sum([]byte(password))
		var enc [28]byte
		base64.StdEncoding.Encode(enc[:], sum[:])
		return subtle.ConstantTimeCompare(enc[:], c.hash[len("{SHA}"):]) == 1
	case hashMD5Crypt:
		return subtle.ConstantTimeCompare(md5Crypt([]byte(password), []byte(c.salt), []byte(c.magic)), c.hash) == 1
	}
	return false
}

// slow reports whether verifying c costs enough CPU to cache its successes.
func (c credential) slow() bool { return c.kind == hashBcrypt || c.kind == hashMD5Crypt }

const itoa64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// md5Crypt is the MD5-based crypt of Poul-Henning Kamp, as Apache's
// htpasswd ($apr1$) and glibc ($1$) compute it; it returns the full hash
// string magic+salt+"$"+digest.
func md5Crypt(password, salt, magic []byte) []byte {
	if len(salt) > 8 {
		salt = salt[:8]
	}
	alt := md5.New()
	alt.Write(password)
	alt.Write(salt)
	alt.Write(password)
	altSum := alt.Sum(nil)

	d := md5.New()
	d.Write(password)
	d.Write(magic)
	d.Write(salt)
	for i := len(password); i > 0; i -= 16 {
		d.Write(altSum[:min(i, 16)])
	}
	for i := len(password); i > 0; i >>= 1 {
		if i&1 == 1 {
			d.Write([]byte{0})
		} else {
			d.Write(password[:1])
		}
	}
	sum := d.Sum(nil)
	for i := 0; i < 1000; i++ {
		r := md5.New()
		if i&1 == 1 {
			r.Write(password)
		} else {
			r.Write(sum)
		}
		if i%3 != 0 {
			r.Write(salt)
		}
		if i%7 != 0 {
			r.Write(password)
		}
		if i&1 == 1 {
			r.Write(sum)
		} else {
			r.Write(password)
		}
		sum = r.Sum(sum[:0])
	}
	out := make([]byte, 0, len(magic)+len(salt)+1+22)
	out = append(out, magic...)
	out = append(out, salt...)
	out = append(out, '$')
	enc := func(a, b, c byte, n int) {
		v := uint(a)<<16 | uint(b)<<8 | uint(c)
		for ; n > 0; n-- {
			out = append(out, itoa64[v&0x3f])
			v >>= 6
		}
	}
	enc(sum[0], sum[6], sum[12], 4)
	enc(sum[1], sum[7], sum[13], 4)
	enc(sum[2], sum[8], sum[14], 4)
	enc(sum[3], sum[9], sum[15], 4)
	enc(sum[4], sum[10], sum[5], 4)
	enc(0, 0, sum[11], 2)
	return out
}

// readHtpasswdFile returns the entries of an htpasswd file, skipping blank
// lines and # comments; errors name the file and line.
func readHtpasswdFile(path string) (map[string]credential, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	out := make(map[string]credential)
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		user, c, err := parseHtpasswdLine(line)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, n, err)
		}
		out[user] = c
	}
	return out, sc.Err()
}
