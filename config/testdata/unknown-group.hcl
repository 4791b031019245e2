console "a" {
  demo {}
  rw = ["group:nope"]
}
