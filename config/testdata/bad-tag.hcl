user "alice" {
  keys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEgCPFGVvlyvFJbiHL8NaMdGfOJ1RsAMZHfz7wg7RrOo alice@laptop"]
}
console "web07" {
  demo {}
  tags = ["web", "rack 12"]
}
