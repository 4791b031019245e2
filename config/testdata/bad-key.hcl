user "alice" {
  keys = ["ssh-ed25519 notakey"]
}
