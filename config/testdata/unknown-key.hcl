console "vm1" {
  telnet { address = "127.0.0.1:4555" }
  colour = "blue"
}
