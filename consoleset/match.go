package consoleset

// match reports whether name matches the pattern, trying every way the
// pattern's * and ranges could split it; a table of the (segment,
// position) pairs already tried keeps that polynomial.
func match(pat []seg, name string) bool {
	failed := make([]bool, (len(pat)+1)*(len(name)+1))
	var try func(i, j int) bool
	try = func(i, j int) bool {
		if i == len(pat) {
			return j == len(name)
		}
		k := i*(len(name)+1) + j
		if failed[k] {
			return false
		}
		ok := false
		rest := name[j:]
		switch p := pat[i]; p.kind {
		case 'l':
			ok = len(rest) >= len(p.lit) && rest[:len(p.lit)] == p.lit && try(i+1, j+len(p.lit))
		case '?':
			ok = len(rest) > 0 && try(i+1, j+1)
		case '*':
			for n := len(rest); n >= 0 && !ok; n-- {
				ok = try(i+1, j+n)
			}
		case '#':
			for n := 1; n <= len(rest) && n <= 9 && isDigit(rest[n-1]) && !ok; n++ {
				ok = p.inRange(rest[:n]) && try(i+1, j+n)
			}
		}
		if !ok {
			failed[k] = true
		}
		return ok
	}
	return try(0, 0)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// inRange reports whether the digits d are a number of the range, written
// as the range writes them: at its fixed width, or without leading zeros.
func (p seg) inRange(d string) bool {
	if p.width > 0 && len(d) != p.width {
		return false
	}
	if p.width == 0 && len(d) > 1 && d[0] == '0' {
		return false
	}
	var v uint64
	for i := 0; i < len(d); i++ {
		v = v*10 + uint64(d[i]-'0')
	}
	return v >= p.lo && v <= p.hi
}
