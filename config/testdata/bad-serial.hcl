console "web07" {
  serial {
    device = "/dev/ttyS0"
    parity = "sideways"
  }
}
