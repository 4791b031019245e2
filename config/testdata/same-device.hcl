console "a" {
  serial { device = "/dev/ttyS0" }
}
console "b" {
  serial { device = "/dev/ttyS0" }
}
