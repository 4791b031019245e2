user "alice" {
  keys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEgCPFGVvlyvFJbiHL8NaMdGfOJ1RsAMZHfz7wg7RrOo alice@laptop"]
}
console "db01" {
  ipmi {
    address  = "10.0.0.51:99999"
    user     = "admin"
    password_file = "db01.pw"
  }
}
