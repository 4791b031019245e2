package main

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"

	"consoled/authkeys"
	"consoled/config"
	"consoled/frontend/sshd"
)

// localUser is the user running consoled, with the public keys in ~/.ssh:
// authorized_keys and id_*.pub. When there are none (a fresh machine), a
// client key pair is created in the data directory instead, so the demo
// still works without ever accepting an unauthenticated login; hint says how
// to connect.
func localUser(dataDir string) (u config.User, hint string, err error) {
	name := "console"
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return config.User{}, "", fmt.Errorf("finding your ssh keys: %w", err)
	}
	u = config.User{Name: name}
	files := []string{filepath.Join(home, ".ssh", "authorized_keys")}
	pubs, _ := filepath.Glob(filepath.Join(home, ".ssh", "id_*.pub"))
	files = append(files, pubs...)
	for _, f := range files {
		keys, err := config.ReadAuthorizedKeys(f)
		if err != nil && !os.IsNotExist(err) {
			return u, "", fmt.Errorf("reading your ssh keys: %w", err)
		}
		u.Keys = append(u.Keys, keys...)
	}
	if len(u.Keys) > 0 {
		return u, "ssh -p PORT -t console@127.0.0.1 demo", nil
	}
	keyPath := filepath.Join(dataDir, "client_ed25519")
	signer, err := sshd.LoadOrCreateHostKey(keyPath) // any ed25519 key pair will do
	if err != nil {
		return u, "", fmt.Errorf("no ssh public key found in %s, and creating a client key: %w", filepath.Join(home, ".ssh"), err)
	}
	u.Keys = append(u.Keys, authkeys.Key{PublicKey: signer.PublicKey()})
	return u, "ssh -i " + keyPath + " -p PORT -t console@127.0.0.1 demo", nil
}

func absDir(d string) (string, error) {
	abs, err := filepath.Abs(d)
	if err != nil {
		return "", fmt.Errorf("data directory %s: %w", d, err)
	}
	return abs, nil
}
