console "vm1" {
  telnet { address = "127.0.0.1:4555" }
  log { max_size = "12 parsecs" }
}
