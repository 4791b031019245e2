user "erin" {
  keys = ["from=\"*.example.com\" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEgCPFGVvlyvFJbiHL8NaMdGfOJ1RsAMZHfz7wg7RrOo erin@laptop"]
}
console "demo" {
  demo {}
}
