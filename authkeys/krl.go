package authkeys

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"os"

	gossh "golang.org/x/crypto/ssh"
)

// Revocations are the keys and certificates a revoked_keys_file revokes:
// a list of public keys (one per line, as OpenSSH's RevokedKeys), or an
// OpenSSH key revocation list (KRL, made by ssh-keygen -k), which revokes
// keys, their SHA1 or SHA256 fingerprints, and certificates by serial
// (lists, ranges, bitmaps) or key ID, per CA or for any CA. A nil
// *Revocations revokes nothing.
type Revocations struct {
	blobs   map[string]bool // wire form of revoked keys
	sha1s   map[string]bool // SHA1 of the wire form
	sha256s map[string]bool
	certs   []certRevocations
}

// certRevocations are the certificates a KRL revokes for one CA (ca nil:
// for any CA).
type certRevocations struct {
	ca      []byte
	serials map[uint64]bool
	ranges  [][2]uint64
	ids     map[string]bool
}

// KRL format (OpenSSH PROTOCOL.krl).
const (
	krlMagic          = "SSHKRL\n\x00"
	krlCertificates   = 1
	krlExplicitKey    = 2
	krlFingerprintSHA = 3
	krlSignature      = 4
	krlFingerprint256 = 5
	krlSerialList     = 0x20
	krlSerialRange    = 0x21
	krlSerialBitmap   = 0x22
	krlKeyID          = 0x23
)

// ReadRevocations reads a revoked_keys_file, KRL or key list.
func ReadRevocations(path string) (*Revocations, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	r := &Revocations{blobs: map[string]bool{}, sha1s: map[string]bool{}, sha256s: map[string]bool{}}
	if bytes.HasPrefix(data, []byte(krlMagic)) {
		if err := r.parseKRL(data[len(krlMagic):]); err != nil {
			return nil, fmt.Errorf("%s: an OpenSSH KRL that cannot be read: %w", path, err)
		}
		return r, nil
	}
	for i, line := range bytes.Split(data, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		k, _, _, _, err := gossh.ParseAuthorizedKey(line)
		if err != nil {
			return nil, &LineError{Path: path, Line: i + 1, Err: err}
		}
		r.blobs[string(k.Marshal())] = true
	}
	return r, nil
}

// Check says why key (a certificate: its own key, its CA, its serial and
// key ID) is revoked, or "" if it is not.
func (r *Revocations) Check(key gossh.PublicKey) string {
	if r == nil {
		return ""
	}
	cert, isCert := key.(*gossh.Certificate)
	if !isCert {
		return r.checkKey(key, "key")
	}
	if why := r.checkKey(cert.Key, "its key"); why != "" {
		return why
	}
	if why := r.checkKey(cert.SignatureKey, "its CA"); why != "" {
		return why
	}
	ca := cert.SignatureKey.Marshal()
	for _, c := range r.certs {
		if c.ca != nil && !bytes.Equal(c.ca, ca) {
			continue
		}
		if c.serials[cert.Serial] {
			return fmt.Sprintf("serial %d", cert.Serial)
		}
		for _, rg := range c.ranges {
			if cert.Serial >= rg[0] && cert.Serial <= rg[1] {
				return fmt.Sprintf("serial %d", cert.Serial)
			}
		}
		if c.ids[cert.KeyId] {
			return fmt.Sprintf("key ID %q", cert.KeyId)
		}
	}
	return ""
}

func (r *Revocations) checkKey(k gossh.PublicKey, what string) string {
	blob := k.Marshal()
	s1, s256 := sha1.Sum(blob), sha256.Sum256(blob)
	if r.blobs[string(blob)] || r.sha1s[string(s1[:])] || r.sha256s[string(s256[:])] {
		return what + " " + gossh.FingerprintSHA256(k)
	}
	return ""
}

// krlReader reads the SSH wire types of a KRL.
type krlReader struct {
	b   []byte
	err error
}

func (k *krlReader) bytes(n int) []byte {
	if k.err != nil || n < 0 || n > len(k.b) {
		k.err = errors.New("truncated")
		return nil
	}
	out := k.b[:n]
	k.b = k.b[n:]
	return out
}

func (k *krlReader) u8() byte {
	if b := k.bytes(1); b != nil {
		return b[0]
	}
	return 0
}

func (k *krlReader) u32() uint32 {
	if b := k.bytes(4); b != nil {
		return binary.BigEndian.Uint32(b)
	}
	return 0
}

func (k *krlReader) u64() uint64 {
	if b := k.bytes(8); b != nil {
		return binary.BigEndian.Uint64(b)
	}
	return 0
}

func (k *krlReader) str() []byte { return k.bytes(int(k.u32())) }

func (r *Revocations) parseKRL(data []byte) error {
	in := &krlReader{b: data}
	if v := in.u32(); in.err == nil && v != 1 {
		return fmt.Errorf("format version %d (want 1)", v)
	}
	in.u64() // KRL version
	in.u64() // generated date
	in.u64() // flags
	in.str() // reserved
	in.str() // comment
	for in.err == nil && len(in.b) > 0 {
		typ, body := in.u8(), in.str()
		if in.err != nil {
			break
		}
		sec := &krlReader{b: body}
		switch typ {
		case krlCertificates:
			r.parseCertSection(sec)
		case krlExplicitKey, krlFingerprintSHA, krlFingerprint256:
			for sec.err == nil && len(sec.b) > 0 {
				v := string(sec.str())
				switch typ {
				case krlExplicitKey:
					r.blobs[v] = true
				case krlFingerprintSHA:
					r.sha1s[v] = true
				default:
					r.sha256s[v] = true
				}
			}
		case krlSignature:
			return nil // signatures come last; OpenSSH does not check them either when reading RevokedKeys
		default:
			return fmt.Errorf("unknown section type %d", typ)
		}
		if sec.err != nil {
			return fmt.Errorf("section %d: %w", typ, sec.err)
		}
	}
	return in.err
}

func (r *Revocations) parseCertSection(sec *krlReader) {
	c := certRevocations{serials: map[uint64]bool{}, ids: map[string]bool{}}
	if ca := sec.str(); len(ca) > 0 {
		c.ca = append([]byte(nil), ca...)
	}
	sec.str() // reserved
	for sec.err == nil && len(sec.b) > 0 {
		typ, body := sec.u8(), sec.str()
		sub := &krlReader{b: body}
		switch typ {
		case krlSerialList:
			for sub.err == nil && len(sub.b) > 0 {
				c.serials[sub.u64()] = true
			}
		case krlSerialRange:
			lo, hi := sub.u64(), sub.u64()
			c.ranges = append(c.ranges, [2]uint64{lo, hi})
		case krlSerialBitmap:
			off := sub.u64()
			bits := new(big.Int).SetBytes(sub.str())
			for i := 0; i < bits.BitLen(); i++ {
				if bits.Bit(i) == 1 {
					c.serials[off+uint64(i)] = true
				}
			}
		case krlKeyID:
			for sub.err == nil && len(sub.b) > 0 {
				c.ids[string(sub.str())] = true
			}
		default:
			sub.err = fmt.Errorf("unknown certificate subsection %d", typ)
		}
		if sub.err != nil {
			sec.err = sub.err
		}
	}
	r.certs = append(r.certs, c)
}
