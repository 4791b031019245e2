user "alice" {
  keys = []
}
console "a" {
  demo {}
  ro = ["mallory"]
}
