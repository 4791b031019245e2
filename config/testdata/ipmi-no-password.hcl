console "db01" {
  ipmi {
    address = "10.0.0.1:623"
    user    = "admin"
  }
}
