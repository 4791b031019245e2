user "carol" {
  keys_file = "key-options.keys"
}
user "dave" {
  keys = ["from=\"127.0.0.1\" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEgCPFGVvlyvFJbiHL8NaMdGfOJ1RsAMZHfz7wg7RrOo dave@laptop"]
}
console "demo" {
  demo {}
}
