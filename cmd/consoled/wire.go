package main

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"

	gossh "golang.org/x/crypto/ssh"

	"consoled/backend"
	"consoled/backend/demo"
	"consoled/backend/exec"
	"consoled/backend/telnet"
	"consoled/config"
)

type gosshPublicKey = gossh.PublicKey

// dialer builds the backend a console's config names.
func dialer(c config.Console) backend.Dialer {
	switch {
	case c.Telnet != nil:
		return &telnet.Dialer{Address: c.Telnet.Address}
	case c.Exec != nil:
		return &exec.Dialer{Command: c.Exec.Command, Dir: c.Exec.Dir, BreakSeq: c.Exec.Break,
			Rows: uint16(c.Exec.Rows), Cols: uint16(c.Exec.Cols)}
	default:
		return &demo.Dialer{Hostname: c.Name}
	}
}

// localUser is the user running consoled, with the public keys in ~/.ssh:
// authorized_keys and id_*.pub.
func localUser() (config.User, error) {
	name := "console"
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return config.User{}, fmt.Errorf("finding your ssh keys: %w", err)
	}
	u := config.User{Name: name}
	files := []string{filepath.Join(home, ".ssh", "authorized_keys")}
	pubs, _ := filepath.Glob(filepath.Join(home, ".ssh", "id_*.pub"))
	files = append(files, pubs...)
	for _, f := range files {
		keys, err := config.ReadAuthorizedKeys(f)
		if err != nil && !os.IsNotExist(err) {
			return u, fmt.Errorf("reading your ssh keys: %w", err)
		}
		u.Keys = append(u.Keys, keys...)
	}
	if len(u.Keys) == 0 {
		return u, fmt.Errorf("no ssh public key found in %s (authorized_keys, id_*.pub): consoled accepts only key logins; create one with: ssh-keygen -t ed25519", filepath.Join(home, ".ssh"))
	}
	return u, nil
}

func absDir(d string) (string, error) {
	abs, err := filepath.Abs(d)
	if err != nil {
		return "", fmt.Errorf("data directory %s: %w", d, err)
	}
	return abs, nil
}
