console "vm1" {
  telnet { address = "localhost" }
}
