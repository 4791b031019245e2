user "alice" {
  keys = []
}
console "vm1" {
  demo {}
}
