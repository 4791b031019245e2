# The embedded default: what `consoled` runs with no -config. Paths are
# relative to the data directory (-data, default ./consoled-data). The user
# running consoled is added with the public keys found in ~/.ssh.
listen   = "127.0.0.1:2222"
host_key = "ssh_host_ed25519_key"
log_dir  = "logs"

console "demo" {
  demo {}
}

# The web view; the login link is printed at start (and by `ssh ... web`).
web {
  listen = "127.0.0.1:8080"
}
