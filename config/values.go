package config

import (
	"fmt"
	"strconv"
	"strings"
)

// ParseSize reads sizes like "64MiB", "500k", "1G", "4096".
// K, M, G and their KiB/KB forms are powers of 1024.
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := len(t)
	for i > 0 && (t[i-1] < '0' || t[i-1] > '9') {
		i--
	}
	num, unit := t[:i], strings.ToLower(strings.TrimSpace(t[i:]))
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("size %q: want a number with an optional unit (KiB, MiB, GiB)", s)
	}
	mult := int64(1)
	switch unit {
	case "", "b":
	case "k", "kb", "kib":
		mult = 1 << 10
	case "m", "mb", "mib":
		mult = 1 << 20
	case "g", "gb", "gib":
		mult = 1 << 30
	default:
		return 0, fmt.Errorf("size %q: unknown unit %q (use KiB, MiB or GiB)", s, unit)
	}
	return n * mult, nil
}

// ParseEscape turns caret notation such as "^Ec" into bytes: "^X" is the
// control character X&0x1f, "^?" is DEL, anything else stands for itself.
func ParseEscape(s string) ([]byte, error) {
	var out []byte
	for i := 0; i < len(s); i++ {
		if s[i] == '^' && i+1 < len(s) {
			c := s[i+1]
			i++
			switch {
			case c == '?':
				out = append(out, 0x7f)
			case c >= '@' && c <= '_' || c >= 'a' && c <= 'z':
				out = append(out, c&0x1f)
			default:
				return nil, fmt.Errorf("escape %q: ^%c is not a control character", s, c)
			}
			continue
		}
		out = append(out, s[i])
	}
	if len(out) < 1 || len(out) > 4 {
		return nil, fmt.Errorf("escape %q: want 1 to 4 characters, e.g. \"^Ec\"", s)
	}
	return out, nil
}
